"""The bytes of an MTK logger's memory downloaded so far, so docking again resumes instead of starting over.

One file per unit (and database) in the user's cache directory. A dock
resumes only if the unit's memory still starts with the cached bytes (not
erased or overwritten since); the cache is dropped once the unit is erased.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

from drivers.mtk import READ_SIZE

ENV_DIR = "FLEET_DESK_CACHE_DIR"


def cache_dir() -> Path:
    """Where downloads of logger memory are kept between docks: the user's cache folder, or the folder
    ``FLEET_DESK_CACHE_DIR`` names."""
    return Path(os.environ.get(ENV_DIR) or platformdirs.user_cache_dir("fleet-desk", appauthor=False)) / "dock"


class DownloadCache:
    """The download of one unit's memory into one database, kept so the next dock resumes it.

    `load` gives what earlier docks read (cut to whole reads), `start` and `append` write this dock's, `drop`
    forgets it once the unit is erased.

    Args:
        database: the database URL without its password; a unit docked into two databases has two downloads.
        device_id: the unit's id in that database.
    """

    def __init__(self, database: str, device_id: int):
        key = hashlib.sha256(f"{database}\n{device_id}".encode()).hexdigest()[:16]
        self.path = cache_dir() / f"unit-{device_id}-{key}.bin"

    def load(self) -> bytes:
        """What earlier docks downloaded, cut to whole reads (nothing if none is kept or the file cannot be read)."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return b""
        return data[: len(data) // READ_SIZE * READ_SIZE]  # resume at a whole read

    def start(self, keep: bytes) -> None:
        """Begin writing: the file holds ``keep`` (the resumed part) and what `append` adds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(keep)

    def append(self, data: bytes) -> None:
        """Add a piece just downloaded to the end of the file."""
        with open(self.path, "ab") as f:
            f.write(data)

    def drop(self) -> None:
        """Forget the download (the unit was erased, so there is nothing to resume)."""
        self.path.unlink(missing_ok=True)
