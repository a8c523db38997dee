"""What every command shares with the terminal: its exit codes and its one-line errors."""

from __future__ import annotations

import sys

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C


def err(message: str) -> None:
    """One line on stderr, named after the program as a shell user expects."""
    print(f"fleet-desk: {message}", file=sys.stderr)
