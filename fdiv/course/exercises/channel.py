"""Messages between the grader and the child process running a student's code: JSON objects, each
preceded by its length (8 bytes, big-endian), on a pair of pipes of their own (the student's code
prints to its own stdout; what it writes there never reaches the grader's channel)."""
from __future__ import annotations

import json
import os
import select
import struct
import time

__all__ = ["send", "receive", "ChannelClosed", "ChannelTimeout", "MAX_MESSAGE"]

MAX_MESSAGE = 256 << 20
_HEADER = struct.Struct("!Q")


class ChannelClosed(Exception):
    """The other end closed its pipe (the process ended) or sent something that is not a message."""


class ChannelTimeout(Exception):
    """No complete message before the deadline."""


def send(fd: int, message: dict) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        try:
            n = os.write(fd, view)
        except (BrokenPipeError, OSError) as exc:
            raise ChannelClosed(str(exc)) from None
        view = view[n:]


def _read(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChannelTimeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise ChannelClosed("end of file")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(fd: int, timeout: float | None = None) -> dict:
    """The next message; ChannelTimeout after ``timeout`` seconds, ChannelClosed at end of file or for
    data that is not a message (too long, not JSON, not an object)."""
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    (length,) = _HEADER.unpack(_read(fd, _HEADER.size, deadline))
    if length > MAX_MESSAGE:
        raise ChannelClosed(f"a message of {length} bytes")
    try:
        message = json.loads(_read(fd, length, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChannelClosed(f"not a message ({exc})") from None
    if not isinstance(message, dict):
        raise ChannelClosed("not a message")
    return message
