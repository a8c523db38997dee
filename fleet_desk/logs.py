"""The application log file: where errors go with their tracebacks.

Users never see a raw traceback; they see a message and this file's location.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

ENV_DIR = "FLEET_DESK_LOG_DIR"
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def log_path() -> Path:
    """The log file users are pointed to when something fails: in the user's log folder, or the folder
    ``FLEET_DESK_LOG_DIR`` names."""
    directory = Path(os.environ.get(ENV_DIR) or platformdirs.user_log_dir("fleet-desk", appauthor=False))
    return directory / "fleet-desk.log"


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to a rotating file (5 x 2 MB); returns its path."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) and h.baseFilename == str(path)
               for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return path
