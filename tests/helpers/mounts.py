"""Real file systems for fault tests: a small tmpfs that fills, a file-size limit standing in where this
machine may not mount, and read-only bind mounts that refuse writes even to root."""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def mount(*args: str | Path) -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", *map(str, args)], capture_output=True).returncode == 0


def umount(path: Path) -> None:
    """Unmount once the engines the command line left behind have closed their files (a failed test may still
    hold one: then detached lazily, never left mounted)."""
    gc.collect()
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True)


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path | None]:
    """A tmpfs of ``size`` mounted on ``folder`` (None: this machine does not let the tests mount one)."""
    folder.mkdir()
    if not mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder):
        yield None
        return
    try:
        yield folder
    finally:
        umount(folder)


def limit_file_size(limit: int) -> Callable[[], None]:
    """For the child: writes beyond ``limit`` bytes fail (EFBIG) instead of killing it with SIGXFSZ."""
    def limit_it() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_it


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a file or a folder) read-only even to root: a read-only bind mount (chmod for other users)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    assert mount("--bind", path, path), "root here, but may not mount"
    try:
        assert mount("-o", "remount,bind,ro", path)
        with pytest.raises(OSError):  # really read-only, root or not
            with open(path if path.is_file() else path / "probe", "ab"):
                pass
        yield
    finally:
        umount(path)
