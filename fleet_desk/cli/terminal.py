"""What every command shares with the terminal: its exit codes, its one-line errors and its progress line."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C
BAR_WIDTH = 30


def err(message: str) -> None:
    """One line on stderr, named after the program as a shell user expects."""
    print(f"fleet-desk: {message}", file=sys.stderr)


class ProgressLine:
    """Work under way on one terminal line, redrawn in place: ``label [#####     ] detail``.

    The command line's one progress printer (an import's file, a dock's phases, a live unit's status), cut to
    the terminal's width so it never wraps. It draws at most every
    ``every_s`` while the label stays the same (a new label, or the end, always shows), and draws nothing when
    the stream is not a terminal: a log or a pipe wants the result, not the bar.
    """

    def __init__(self, stream: TextIO | None = None, every_s: float = 0.1) -> None:
        """``stream``: stderr (the one in use when the line is made) unless given."""
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.enabled = self.stream.isatty()
        self._label: str | None = None
        self._drawn_at = float("-inf")
        self._width = 0  # of the text on the line, to blank what a shorter one leaves

    def show(self, label: str, done: float | None = None, detail: str = "", last: bool = False) -> None:
        """``done``: the share of the work done (0 to 1), or None where the total is not known (no bar);
        ``last``: the work is finished (drawn however soon after the one before)."""
        now = time.monotonic()
        if not self.enabled or (label == self._label and not last and now - self._drawn_at < self.every_s):
            return
        self._label, self._drawn_at = label, now
        bar = "" if done is None else f" [{'#' * int(min(1.0, done) * BAR_WIDTH):<{BAR_WIDTH}}]"
        text = f"{label}{bar} {detail}".rstrip()
        columns = self._columns()
        if columns:  # a longer line would wrap, and the next would be drawn below it
            text = text[:columns - 1]
        self.stream.write(f"\r{text:<{self._width}}")
        self.stream.flush()
        self._width = len(text)

    def _columns(self) -> int | None:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or None  # 0: a terminal without a size
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            return None

    def close(self) -> None:
        """End the line, if anything was drawn on it, so what follows starts on a line of its own."""
        if self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._label, self._width = None, 0
