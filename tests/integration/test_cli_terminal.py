"""What the command line draws on a terminal (a real pseudo-terminal), and leaves out of a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fleet_desk.cli import main
from fleet_desk.cli.terminal import ProgressLine
from fleet_desk.sim.loggers import SimulatedMtkLogger
from tests.helpers.paths import NMEA_LOGS, TESTDATA
from tests.helpers.terminal import terminal

TELIT = next(p for p in NMEA_LOGS if p.name == "telit-he910.log")
M241 = TESTDATA / "mtk-loggers" / "mtk_logger_m241.bin"


def _made(tmp_path: Path) -> str:
    """A database made beforehand, so what is drawn is the command's alone (a new one is said first)."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    return url


def test_an_import_draws_its_bar_on_the_terminal_and_ends_the_line(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = _made(tmp_path)
    with terminal() as term:
        monkeypatch.setattr(sys, "stderr", term.stream)
        code = main(["--db", url, "import-log", str(TELIT), "--device", "telit"])
        drawn = term.close()
    assert code == 0
    assert drawn.startswith(f"\r{TELIT.name} [")
    assert drawn.endswith(f"\r{TELIT.name} [{'#' * 30}] 100.0%\n")


def test_a_dock_draws_its_phases_on_the_same_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _made(tmp_path)
    sim = SimulatedMtkLogger(M241.read_bytes(), baud=38400, model="M-241", line_rate=False).start()
    try:
        with terminal() as term:
            monkeypatch.setattr(sys, "stderr", term.stream)
            code = main(["--db", url, "dock", sim.path, "--device", "holux"])
            drawn = term.close()
    finally:
        sim.close()
    assert code == 0
    phases = [part.split()[0] for part in drawn.split("\r") if part.strip()]
    assert phases[0] == "connecting" and "downloading" in phases and phases[-1] in ("storing", "reconciling")
    assert "] " in drawn and " bytes, " in drawn and " records" in drawn  # the bar, with what was read
    assert drawn.endswith("\n") and drawn.count("\n") == 1  # one line, ended once


def test_db_maintain_draws_its_thinning_on_the_one_progress_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = _made(tmp_path)
    assert main(["--db", url, "import-log", str(TELIT), "--device", "telit", "--vehicle", "Van 1"]) == 0
    with terminal() as term:
        monkeypatch.setattr(sys, "stderr", term.stream)
        code = main(["--db", url, "db", "maintain", "--keep-days", "1"])  # the recorded log is older than that
        drawn = term.close()
    assert code == 0
    assert drawn.startswith("\rthinning [")
    last = drawn.rsplit("\r", 1)[-1]  # the bar full, every unit-day done, and the line ended once
    done, total = last.removeprefix(f"thinning [{'#' * 30}] ").removesuffix(" unit-days\n").split("/")
    assert done == total and int(total) > 0 and drawn.count("\n") == 1


def test_a_shorter_text_blanks_what_a_longer_one_left() -> None:
    with terminal() as term:
        line = ProgressLine(term.stream)
        line.show("storing", None, "1,234,567 bytes, 803 records")
        line.show("erasing")
        line.close()
        drawn = term.close()
    assert drawn == "\rstoring 1,234,567 bytes, 803 records\rerasing" + " " * 29 + "\n"


def test_a_line_is_cut_to_the_terminal_so_it_never_wraps() -> None:
    with terminal(columns=40) as term:
        line = ProgressLine(term.stream)
        line.show("downloading", 0.5, "20,480/41,502 bytes, 584 records, 1,899 B/s, 11 s left")
        line.close()
        drawn = term.close()
    shown = drawn.removeprefix("\r").removesuffix("\n")
    assert shown == "downloading [" + "#" * 15 + " " * 11 and len(shown) == 39  # the cursor stays on the line


def test_nothing_is_drawn_into_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", f"sqlite:///{tmp_path / 'd.db'}", "import-log", str(TELIT), "--device", "telit"]) == 0
    assert "\r" not in capsys.readouterr().err
