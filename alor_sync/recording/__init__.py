"""Recording: live sessions written to a file that the emulator replays.

Owns: the file format (``alor_sync.recording.tape``: header, stamped payloads, trailer, with
validation on load) and the :class:`~alor_sync.recording.recorder.Recorder` that writes one from
a client's subscriptions.

Never: imports the emulator, and this ``__init__`` imports nothing, so that the emulator can read
the format without importing the client.
"""
