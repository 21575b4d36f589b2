"""Commands: the ``/cws`` channel for order commands.

Owns: the channel and its writer thread, the authorized session (authorize, re-authorize on a
new token), the book of commands in flight matched to replies by ``requestGuid``, the typed
command methods the facade inherits (generated from ``alor_sync.protocol.command_specs`` by
``python -m alor_sync.commands.generate``), and the results and callbacks users receive.

Never: retries a command whose fate is unknown (a duplicate order costs money), or touches the
``/ws`` data channel.
"""
