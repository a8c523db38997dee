"""A desktop missing some of the libraries Qt's X11 plugin needs: the app says which, and the command that
installs them, instead of Qt's abort naming only the first (this machine lacks two of them; the test reads the
plugin's needs with the system's loader itself, so it holds on a machine that has them too)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

from fleet_desk.ui.app import XCB_PACKAGES, missing_xcb_libraries


def _not_found_by_ldd() -> list[str]:
    plugin = Path(find_spec("PySide6").origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    said = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=True).stdout
    return sorted({line.split("=>")[0].strip() for line in said.splitlines() if "not found" in line})


def test_the_app_names_each_missing_library_and_its_package(tmp_path: Path) -> None:
    missing = _not_found_by_ldd()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":99", HOME=str(tmp_path), FLEET_DESK_CONFIG_DIR=str(tmp_path / "config"))
    if not missing:  # a desktop with every library: nothing to say
        assert missing_xcb_libraries() is None
        return
    done = subprocess.run([sys.executable, "-m", "fleet_desk.cli", "--demo"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("fleet-desk: Qt's X11 plugin cannot start: this system lacks ")
    assert all(lib in line for lib in missing)
    install = line.split("sudo apt-get install ")[1].split(" (")[0].split()
    assert sorted(install) == sorted(XCB_PACKAGES[lib] for lib in missing if lib in XCB_PACKAGES)
