"""`fleet-desk roads import` and `roads status`, as a user runs them: real builds, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleet_desk import times
from fleet_desk.cli import main
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_INTERRUPTED
from fleet_desk.roads.library import ENV_DIR, current_map, roads_dir
from fleet_desk.settings import ENV_DIR as SETTINGS_DIR
from fleet_desk.settings import Settings
from tests.helpers.paths import ROOT
from tests.helpers.roadmaps import helsinki_pbf, install_map
from tests.helpers.terminal import terminal


@pytest.fixture(autouse=True)
def _own_roads_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_status_without_a_map_says_etas_use_the_straight_line_and_how_to_import(capsys):
    assert main(["roads", "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No road map: ETAs use the straight line")
    assert "fleet-desk roads import FILE" in out and ".osm.pbf" in out
    assert main(["roads", "status", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"map": None}


def test_import_helsinki_then_status(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTINGS_DIR, str(tmp_path / "config"))
    Settings(depot_timezone="Asia/Tokyo").save()  # the time it was built is the depot's, as everywhere
    assert main(["roads", "import", str(helsinki_pbf())]) == 0
    out = capsys.readouterr().out.splitlines()
    info = current_map()
    assert info is not None and info.name == "Helsinki"
    assert out[0].startswith(f"Helsinki: road map built from {helsinki_pbf()} in ") and out[0].endswith(" s")
    assert out[1] == "  area      60.16-60.18 N, 24.94-24.95 E"
    assert out[2] == "  streets   920"
    assert out[3].startswith("  size      0.9 MB in ") and out[3].endswith(info.directory.name)
    assert out[-1] == "ETAs on this installation now use it."

    assert main(["roads", "status"]) == 0
    status = capsys.readouterr().out.splitlines()
    assert status[0] == "Road map in use: Helsinki"
    assert status[1] == "  area      60.16-60.18 N, 24.94-24.95 E"
    built = times.date_time(info.built_ms, ZoneInfo("Asia/Tokyo"))
    assert f"  built     {built}" in status and built.endswith(" JST")
    assert f"  source    {helsinki_pbf().resolve()}" in status

    assert main(["roads", "status", "--format", "json"]) == 0
    said = json.loads(capsys.readouterr().out)["map"]
    assert said["name"] == "Helsinki" and said["streets"] == 920 and said["directory"] == str(info.directory)
    assert said["area"] == info.area_text and said["size_bytes"] > 500_000


def test_import_draws_its_stages_on_one_terminal_line(monkeypatch):
    with terminal() as term:
        monkeypatch.setattr(sys, "stderr", term.stream)
        assert main(["roads", "import", str(helsinki_pbf())]) == 0
        drawn = term.close()
    assert drawn.startswith("\rReading the extract")
    assert "\rExtracting roads" in drawn and "\rPartitioning" in drawn and "\rCustomizing" in drawn
    assert drawn.endswith("\n") and drawn.count("\n") == 1
    assert drawn.split("\r")[-1].rstrip() == f"Done                 [{'#' * 30}] 100.0%"
    assert "[info]" not in drawn  # OSRM's own output stays in the log


@pytest.mark.parametrize("name", ["/bin/ls", "stops.csv", "empty.osm.pbf", "missing.osm.pbf"])
def test_a_file_that_is_no_extract_is_one_line_and_keeps_the_map_in_use(name, tmp_path, capsys):
    old = install_map("town")
    (tmp_path / "stops.csv").write_text("order,address\n1,Main Street 1\n")
    (tmp_path / "empty.osm.pbf").write_bytes(b"")
    path = name if name.startswith("/") else str(tmp_path / name)
    assert main(["roads", "import", path]) == EXIT_FAILED
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith(f"fleet-desk: {path}")
    assert ("no such file" if name.startswith("missing") else "is not an OpenStreetMap extract") in line
    assert captured.out == ""
    assert current_map() == old
    assert {p.name for p in roads_dir().iterdir()} == {old.directory.name, "current.json"}


def test_a_damaged_map_in_use_is_one_line(capsys):
    install_map("town")
    (roads_dir() / "current.json").write_text("{")
    assert main(["roads", "status"]) == EXIT_FAILED
    line = _one_line(capsys.readouterr().err)
    assert "current.json: which road map is in use is unreadable" in line


def test_ctrl_c_during_the_build_keeps_nothing_and_the_old_map_in_use(tmp_path):
    old = install_map("town")
    big = tmp_path / "big.osm"  # a town of 160 x 160 streets: its build takes long enough to be interrupted
    _write_grid(big, 160)
    process = subprocess.Popen([sys.executable, "-m", "fleet_desk.cli", "roads", "import", str(big)], cwd=ROOT,
                               env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(roads_dir().glob(".building-*/.osrm-extract.log")):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == EXIT_INTERRUPTED, err
    line = _one_line(err)
    assert line == "fleet-desk: interrupted; nothing of the new road map was kept (the road map in use is still " \
                   "Riverton)"
    assert out == ""
    assert current_map() == old
    assert {p.name for p in roads_dir().iterdir()} == {old.directory.name, "current.json"}
    assert subprocess.run(["pgrep", "-f", str(roads_dir())], capture_output=True).stdout == b""  # no tool left


def _write_grid(path: Path, n: int) -> None:
    step = 0.0009
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for r in range(n):
        for c in range(n):
            lines.append(f'<node id="{r * n + c + 1}" version="1" lat="{50 + r * step:.7f}" '
                         f'lon="{10 + c * step:.7f}"/>')
    way = n * n + 1
    for r in range(n):
        refs = "".join(f'<nd ref="{r * n + c + 1}"/>' for c in range(n))
        lines.append(f'<way id="{way}" version="1">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    for c in range(n):
        refs = "".join(f'<nd ref="{r * n + c + 1}"/>' for r in range(n))
        lines.append(f'<way id="{way}" version="1">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    lines.append("</osm>")
    path.write_text("\n".join(lines))
