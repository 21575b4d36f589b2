"""Data: the ``/ws`` channel, from a ``subscribe_*`` call to a callback.

Owns: the per-stream lifecycle state machine (sans-IO), the session that feeds it socket events
and carries out its actions, delivery on the worker (decoding, replay healing, gap notices),
subscription handles, spreading streams over connections, and the ``subscribe_*`` / ``get_*``
methods the facade inherits (typed modules generated from ``alor_sync.protocol.specs`` by
``python -m alor_sync.data.generate``).

Never: builds wire requests by hand (``alor_sync.protocol`` does), structures payloads
(``alor_sync.codec`` does), or runs a user callback on the network thread.
"""
