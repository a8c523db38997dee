"""Where road maps live on this installation, what each one is, and which one ETAs use.

Each built map is a folder under `roads_dir()` holding the OSRM graph
(``map.osrm.*``), the streets as GeoJSON (for the offline base layer) and
``map.json`` (its `MapInfo`). ``current.json`` names the folder in use; it is
replaced atomically, so a reader sees the old map or the new one, never half.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

ENV_DIR = "FLEET_DESK_DATA_DIR"
CURRENT = "current.json"
MAP_JSON = "map.json"
IMPORT_HINT = "import one with `fleet-desk roads import FILE`"


class RoadMapError(Exception):
    """A road map that cannot be read, built or used, said in one line naming the file and what to do."""


class BuildCancelled(Exception):  # noqa: N818 (the name callers know it by: a cancel is not an error)
    """The build stopped because the user cancelled it; nothing of it is left and the map in use is unchanged."""


def roads_dir() -> Path:
    """The folder road maps are built in (``FLEET_DESK_DATA_DIR``/roads, else the user's data folder)."""
    base = os.environ.get(ENV_DIR) or platformdirs.user_data_dir("fleet-desk", appauthor=False)
    return Path(base) / "roads"


@dataclass(frozen=True)
class MapInfo:
    """A built road map: the extract it came from, the area its roads cover, and where its files are.

    ``built_ms``: when it was built (Unix milliseconds); ``streets``: how many drivable ways it has;
    ``size_bytes``: its folder's size on disk.
    """

    name: str
    source: str
    south: float
    west: float
    north: float
    east: float
    built_ms: int
    size_bytes: int
    streets: int
    directory: Path

    @property
    def osrm_path(self) -> Path:
        """The graph's base name, as OSRM's engine is given it."""
        return self.directory / "map.osrm"

    @property
    def streets_main(self) -> Path:
        """GeoJSON of the main roads (motorway to tertiary and their links), for low zoom."""
        return self.directory / "streets-main.geojson"

    @property
    def streets_all(self) -> Path:
        """GeoJSON of every drivable street, for high zoom."""
        return self.directory / "streets-all.geojson"

    @property
    def water(self) -> Path:
        """GeoJSON of the lakes, river banks, rivers and canals (drawn under the streets)."""
        return self.directory / "water.geojson"

    @property
    def area_text(self) -> str:
        """The area in one line, e.g. "60.15-60.18 N, 24.90-24.97 E"."""
        return f"{_span(self.south, self.north, 'N', 'S')}, {_span(self.west, self.east, 'E', 'W')}"

    def covers(self, lat: float, lon: float) -> bool:
        """Whether (lat, lon) lies within the map's area (the box around its roads)."""
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def to_json(self) -> dict[str, object]:
        """What ``map.json`` holds: every field but the folder (which is where the file is)."""
        data = asdict(self)
        del data["directory"]
        return data

    @classmethod
    def load(cls, directory: Path) -> MapInfo:
        """The map in ``directory``, from its ``map.json``; RoadMapError when missing or damaged."""
        path = directory / MAP_JSON
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            values = {f.name: data[f.name] for f in fields(cls) if f.name != "directory"}
            info = cls(directory=directory, **values)
            float(info.south + info.west + info.north + info.east)
            int(info.built_ms + info.size_bytes + info.streets)
        except FileNotFoundError as exc:
            raise RoadMapError(f"{path}: the road map's description is missing; {IMPORT_HINT} again") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RoadMapError(f"{path}: the road map's description is damaged ({exc}); "
                               f"{IMPORT_HINT} again") from exc
        return info


def _span(low: float, high: float, positive: str, negative: str) -> str:
    def part(value: float) -> str:
        return f"{abs(value):.2f}"

    if low >= 0 or high < 0:
        hemisphere = positive if low >= 0 else negative
        first, last = (low, high) if low >= 0 else (high, low)
        return f"{part(first)}-{part(last)} {hemisphere}"
    return f"{part(low)} {negative}-{part(high)} {positive}"


def current_map() -> MapInfo | None:
    """The road map ETAs on this installation use; None when none was imported.

    RoadMapError when the one named in use is missing or damaged (the message says to import it again)."""
    path = roads_dir() / CURRENT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        folder = data["map"]
        if not isinstance(folder, str) or not folder or "/" in folder or "\\" in folder or folder.startswith("."):
            raise ValueError(f"not a map folder: {folder!r}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RoadMapError(f"{path}: which road map is in use is unreadable ({exc}); {IMPORT_HINT} again") from exc
    return MapInfo.load(roads_dir() / folder)


def use_map(info: MapInfo) -> None:
    """Make ``info`` the road map in use (``current.json`` replaced atomically)."""
    root = roads_dir()
    if info.directory.parent.resolve() != root.resolve():
        raise ValueError(f"{info.directory} is not a road map folder under {root}")
    write_atomically(root / CURRENT, {"map": info.directory.name})


def write_atomically(path: Path, data: dict[str, object]) -> None:
    """``data`` as JSON at ``path``: written beside it, flushed, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def folder_size(directory: Path) -> int:
    """Bytes the files in ``directory`` take (not following links)."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())
