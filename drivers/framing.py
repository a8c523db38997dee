"""Sentence framing: arbitrary byte chunks in, checksum-verified sentences out.

A serial read can stop mid-sentence and real receivers emit NULs, binary
noise, truncated lines and bad checksums. The framer keeps the unfinished
tail between calls and verifies every checksum of a chunk at once with numpy
(an XOR prefix over the whole chunk), which is what lets a day's log decode
in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Longest line accepted. NMEA says 82 characters; real receivers go beyond
#: (long GSV/GNS, survey-grade precision), so allow generously.
MAX_LINE = 256

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i


@dataclass(slots=True)
class FramingStats:
    """What the framer saw, for import summaries and unit status."""

    lines: int = 0
    sentences: int = 0
    bad_checksum: int = 0
    missing_checksum: int = 0
    noise: int = 0
    overlong: int = 0


def sentence(body: str) -> bytes:
    """``body`` as a complete sentence: ``$``, the body, ``*``, its checksum, CR LF (commands to units too)."""
    checksum = 0
    for ch in body.encode():
        checksum ^= ch
    return f"${body}*{checksum:02X}\r\n".encode()


class Bodies:
    """The sentence bodies of a framed block: where each lies in it, cut out only when asked for.

    Bulk decoding reads the fields straight from the block (`fleet_desk.gps.bulk.Run`), so a day's quarter
    of a million sentences are never copied out one by one.
    """

    __slots__ = ("block", "starts", "ends")

    def __init__(self, block: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
        self.block, self.starts, self.ends = block, starts, ends

    @classmethod
    def of(cls, bodies: list[bytes]) -> Bodies:
        """Bodies cut out one by one (e.g. trailing blanks stripped) joined back into one block."""
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
        ends = np.cumsum(lengths)
        return cls(b"".join(bodies), ends - lengths, ends)

    def __len__(self) -> int:
        return len(self.starts)

    def cut(self, lo: int = 0, hi: int | None = None) -> list[bytes]:
        """Bodies ``lo`` to ``hi`` as bytes."""
        block = self.block
        return [block[a:b] for a, b in zip(self.starts[lo:hi].tolist(), self.ends[lo:hi].tolist(), strict=True)]


_NO_BODIES = Bodies(b"", np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


class SentenceFramer:
    """Cuts a byte stream into NMEA sentence bodies (between ``$`` and ``*``).

    Sentences with a wrong checksum are rejected and counted. Sentences with
    no checksum at all are counted and rejected unless ``accept_missing``,
    for the few unit families that really omit it.
    """

    def __init__(self, accept_missing_checksum: bool = False, max_line: int = MAX_LINE) -> None:
        """``max_line``: longer lines are noise (a unit's memory dump answers in lines of several KiB)."""
        self.accept_missing_checksum = accept_missing_checksum
        self.max_line = max_line
        self.stats = FramingStats()
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Return the bodies of the complete, valid sentences in ``chunk``."""
        return self.frame(chunk).cut()

    def frame(self, chunk: bytes) -> Bodies:
        """`feed`, the bodies left in place."""
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = data
            if len(data) > self.max_line:
                self.stats.lines += 1
                self.stats.overlong += 1
                self._tail = b""
            return _NO_BODIES
        self._tail = data[end + 1 :]
        return self._frame(data[: end + 1])

    def flush(self) -> list[bytes]:
        """Frame whatever is left once the stream has ended (no final newline)."""
        tail, self._tail = self._tail, b""
        if not tail.strip(b"\r\x00 "):
            return []
        return self._frame(tail + b"\n").cut()

    def _frame(self, block: bytes) -> Bodies:
        stats = self.stats
        arr = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(arr == 10)
        count = len(newlines)
        stats.lines += count
        line_starts = np.empty(count, dtype=np.int64)
        line_starts[0] = 0
        line_starts[1:] = newlines[:-1] + 1

        dollars = np.flatnonzero(arr == 36)
        stars = np.flatnonzero(arr == 42)
        # Last '$' and last '*' before each newline, if inside that line.
        di = np.searchsorted(dollars, newlines) - 1
        si = np.searchsorted(stars, newlines) - 1
        d = np.where(di >= 0, dollars[np.maximum(di, 0)] if len(dollars) else -1, -1)
        s = np.where(si >= 0, stars[np.maximum(si, 0)] if len(stars) else -1, -1)
        has_dollar = d >= line_starts
        has_star = has_dollar & (s > d)
        overlong = has_dollar & ((newlines - d) > self.max_line)

        prefix = np.bitwise_xor.accumulate(arr)
        s_safe = np.where(has_star, s, 1)
        d_safe = np.where(has_star, d, 0)
        computed = prefix[s_safe - 1] ^ prefix[d_safe]
        limit = len(arr) - 1
        hi = _HEX[arr[np.minimum(s_safe + 1, limit)]]
        lo = _HEX[arr[np.minimum(s_safe + 2, limit)]]
        trailing = newlines - (s_safe + 3)
        shape_ok = (hi != 255) & (lo != 255) & (trailing >= 0) & (trailing <= 2)
        sum_ok = has_star & ~overlong & shape_ok & (computed == ((hi << 4) | lo))

        n_noise = int(count - np.count_nonzero(has_dollar))
        n_overlong = int(np.count_nonzero(overlong))
        n_missing = int(np.count_nonzero(has_dollar & ~has_star & ~overlong))
        n_ok = int(np.count_nonzero(sum_ok))
        stats.noise += n_noise
        stats.overlong += n_overlong
        stats.missing_checksum += n_missing
        stats.bad_checksum += count - n_noise - n_overlong - n_missing - n_ok

        take, ends = sum_ok, s
        if self.accept_missing_checksum and n_missing:
            missing = has_dollar & ~has_star & ~overlong
            take = sum_ok | missing
            ends = np.where(sum_ok, s, newlines)
        bodies = Bodies(block, d[take] + 1, ends[take])
        if take is not sum_ok:  # lines without a checksum end at the newline: trailing CR and blanks go
            bodies = Bodies.of([body.rstrip(b"\r ") for body in bodies.cut()])
        stats.sentences += len(bodies)
        return bodies
