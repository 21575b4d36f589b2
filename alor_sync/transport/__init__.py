"""Transport: one WebSocket connection kept alive by its own thread.

Owns: the link over websocket-client (connect, send, receive, close), the connection thread that
reconnects with backoff and sends heartbeats, splitting received frames into envelopes, and the
backoff policy itself.

Never: knows what a frame means (opcodes, guids, tokens are the channels' business), runs user
code, or blocks the network thread on anything but the socket.
"""
