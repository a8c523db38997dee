"""Sentences that once stopped decoding (issue 19), for the decoder's and the live ingest's fault tests."""

from __future__ import annotations

#: Checksum-valid once framed, its time field overflows a float: it killed the one ingest thread.
POISON = b"GPRMC,123505.5e400,A,4807.038,N,01131.000,E,22.4,84.4,201126,,,A"
