"""A real terminal for what a command draws: a pseudo-terminal pair, the command writing to its slave side."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Terminal:
    """The slave side as a text stream (``isatty()`` is true), and everything written to it so far."""

    def __init__(self, columns: int = 0) -> None:
        """``columns``: the terminal's width (0: a terminal that does not say, as a bare pty)."""
        self._master, slave = os.openpty()
        tty.setraw(slave)  # bytes as written: no CR added before LF
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24 if columns else 0, columns, 0, 0))
        self.stream: TextIO = io.TextIOWrapper(open(slave, "wb", buffering=0), encoding="utf-8", write_through=True)
        self._seen = bytearray()
        self._reader = threading.Thread(target=self._read, name="terminal reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # the slave side closed
                return
            if not data:
                return
            self._seen += data

    def close(self) -> str:
        """Close the terminal; what was drawn on it."""
        self.stream.close()
        self._reader.join(5)
        os.close(self._master)
        return self._seen.decode("utf-8")


@contextmanager
def terminal(columns: int = 0) -> Iterator[Terminal]:
    term = Terminal(columns)
    try:
        yield term
    finally:
        if not term.stream.closed:
            term.close()
