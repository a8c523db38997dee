"""What `fleet-desk ... --help` tells a user who has only the command line."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from fleet_desk.cli import main
from fleet_desk.push.endpoint import SECRETS
from fleet_desk.settings import Settings


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _listed(said: str) -> list[tuple[str, str]]:
    """(key, type) of each line under the help's list of keys."""
    lines = said.split("keys `config set` takes")[1].split("\n\n")[0].splitlines()[1:]
    return [(line.split()[0], line.split()[1]) for line in lines]


def test_config_help_says_where_the_settings_are_and_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEET_DESK_CONFIG_DIR", str(tmp_path / "desk-config"))
    said = _help(capsys, "config")
    assert f"settings are kept in {tmp_path / 'desk-config' / 'settings.json'}" in said
    assert "FLEET_DESK_CONFIG_DIR" in said
    assert [key for key, _kind in _listed(said)] == [f.name for f in fields(Settings)]  # the dataclass's, in order
    assert "  trail_minutes            integer     10\n" in said
    assert "  follow_selected          true/false  false\n" in said
    assert ", ".join(SECRETS) in said


def test_every_key_listed_is_one_config_set_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FLEET_DESK_CONFIG_DIR", str(tmp_path))
    said = _help(capsys, "config")
    values = {"true/false": "true", "integer": "7", "number": "2.5", "text": "Europe/Paris"}
    for key, kind in _listed(said):
        if key in ("endpoint_url", "depot_location", "tile_url"):  # values checked further; their own tests cover them
            continue
        assert main(["config", "set", key, values[kind]]) == 0, capsys.readouterr().err
    assert Settings.load().trail_minutes == 7 and Settings.load().depot_timezone == "Europe/Paris"
