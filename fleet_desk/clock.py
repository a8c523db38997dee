"""The time now, as the store keeps times: integer milliseconds since the epoch, UTC.

Its own small module so the window can use it before the database layer loads.
"""

import time


def now_ms() -> int:
    """Milliseconds since the epoch, UTC: the store's unit, so live "now" compares directly with fix times."""
    return int(time.time() * 1000)
