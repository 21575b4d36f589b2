"""Dispatch: the threads that run code other than the network reader.

Owns: the dispatcher (routes keyed by subscription, their delivery policies, the worker pool
that runs user callbacks in per-route order), the user's hooks (connection and error
callbacks), and the control loop that runs the library's own housekeeping (token refresh,
timers) off the network thread.

Never: touches a socket, parses a frame, or knows an opcode.
"""
