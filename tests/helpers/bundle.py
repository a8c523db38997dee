"""The PyInstaller bundle, built from installer.spec in a process of its own.

The build is most of the bundle test's time (a minute of PyInstaller's analysis, one core) and needs nothing
from the other tests, so the session starts it as soon as it knows the bundle test is selected and the rest
of the suite runs meanwhile; the test then waits for it and checks what it built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from tests.helpers.paths import ROOT


class BundleBuild:
    """One PyInstaller build of installer.spec into a folder of its own, removed by ``discard``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fleet-desk-bundle-"))
        self._log: IO[bytes] | None = (self.folder / "build.log").open("w+b")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
             "--distpath", str(self.folder / "dist"), "--workpath", str(self.folder / "build"),
             str(ROOT / "installer.spec")],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )

    @property
    def app(self) -> Path:
        """The bundle's executable."""
        return self.folder / "dist" / "fleet-desk" / "fleet-desk"

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait for the build; its exit status and what PyInstaller said."""
        code = self._process.wait(timeout)
        assert self._log is not None, "finish() called twice"
        self._log.seek(0)
        said = self._log.read().decode(errors="replace")
        self._log.close()
        self._log = None
        return code, said

    def discard(self) -> None:
        """Stop the build if it still runs and remove everything it made (the bundle is ~700 MB)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.folder, ignore_errors=True)
