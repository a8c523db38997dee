"""Building a road map from an OpenStreetMap extract: read it, run OSRM's tools, put the result in use.

The extract is read and checked first (`fleet_desk.roads.osm`), then the
osrm-bindings wheel's own ``osrm-extract`` (car profile), ``osrm-partition``
and ``osrm-customize`` build an MLD graph in a fresh folder under
`roads_dir()`. Their output is captured into the app log, never the terminal.
Only a finished build is renamed into place and made current; a cancelled or
failed one leaves nothing behind, and the map in use stays in use until the
new one is in place.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fleet_desk.roads.library import (
    MAP_JSON,
    BuildCancelled,
    MapInfo,
    RoadMapError,
    current_map,
    folder_size,
    roads_dir,
    use_map,
    write_atomically,
)
from fleet_desk.roads.osm import read_extract

log = logging.getLogger(__name__)

Report = Callable[[float, str], None]
Cancelled = Callable[[], bool]
SUFFIXES = {"pbf": ".osm.pbf", "osm": ".osm", "osm.bz2": ".osm.bz2", "osm.gz": ".osm.gz"}
EXTENSIONS = (".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf", ".xml")
POLL_S = 0.05
STALE_BUILD_S = 24 * 3600

#: Lines osrm-extract writes on its way, with how far through its work each one is.
EXTRACT_MILESTONES = (("Parsing in progress", 0.02), ("Parse ways and nodes", 0.05), ("Parsing finished", 0.3),
                      ("Sorting edges", 0.4), ("extraction finished", 0.45),
                      ("Generating edge-expanded graph", 0.5), ("Generating edge expanded nodes", 0.6),
                      ("Generating edge-expanded edges", 0.7), ("Generating guidance turns", 0.8),
                      ("Computing strictly connected", 0.88), ("Building r-tree", 0.92),
                      ("Writing edge-based-graph edges", 0.96))
PARTITION_MILESTONES = (("Loaded compressed node based graph", 0.1), ("Found", 0.3), ("Full bisection", 0.6),
                        ("MLD data writing", 0.9))
CUSTOMIZE_MILESTONES = (("Loaded edge based graph", 0.2), ("Cells customization", 0.7), ("writing took", 0.9))
#: Each step: its tool, what the user reads while it runs, where its share of the progress bar starts and
#: ends, and its milestones.
STAGES = {"osrm-extract": ("Extracting roads", 0.15, 0.85, EXTRACT_MILESTONES),
          "osrm-partition": ("Partitioning", 0.85, 0.93, PARTITION_MILESTONES),
          "osrm-customize": ("Customizing", 0.93, 0.98, CUSTOMIZE_MILESTONES)}
LOG_LINE = re.compile(r"^\[[^\]]*\]\s*\[(\w+)\]\s*")


def osrm_tools() -> tuple[Path, Path]:
    """The osrm-bindings wheel's tool folder and its car profile."""
    import importlib.util

    spec = importlib.util.find_spec("osrm")
    if spec is None or not spec.submodule_search_locations:
        raise RoadMapError("the routing engine (osrm-bindings) is not installed; reinstall Fleet Desk")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "bin", package / "share" / "profiles" / "car.lua"


def osrm_steps(profile: Path, extract: Path, graph: Path, nodes: int) -> list[tuple[str, list[str]]]:
    """The OSRM tools to run, in order, with their arguments, to build ``graph`` from ``extract`` (``nodes``:
    how many road nodes it has, as `read_extract` counted them).

    OSRM snaps a point to the "big" part of the network when the street nearest to it is a fragment cut off
    from the rest (a car park, a road the extract's edge clips), but only parts of at least
    ``--small-component-size`` nodes count as big (1000 by default): in a town-sized extract every part
    would be small, and stops next to a fragment could not be routed. The size follows the extract's.
    """
    small = str(min(1000, max(10, nodes // 50)))
    return [("osrm-extract", ["-p", str(profile), str(extract), "-o", str(graph), "--small-component-size", small]),
            ("osrm-partition", [str(graph), "--small-component-size", small]),
            ("osrm-customize", [str(graph)])]


def map_name(source: Path) -> str:
    """What users call the map: the extract's file name without its extensions ("Helsinki")."""
    name = source.name
    for extension in EXTENSIONS:
        if name.lower().endswith(extension):
            return name[: -len(extension)] or name
    return name


def build_road_map(source: Path, report: Report | None = None, cancelled: Cancelled | None = None,
                   memory_limit: int | None = None) -> MapInfo:
    """Build a road map from the extract at ``source`` and make it the one in use; returns it.

    ``report(fraction, stage)`` is told how far the build is (0 to 1); ``cancelled()`` is asked while it
    runs, and when it says True the running tool is killed, the partial folder removed and BuildCancelled
    raised. ``memory_limit``: the most address space (bytes) each OSRM tool may take, so that an area too big
    for this machine fails with a message instead of driving it into swap. RoadMapError, in one line, when the
    file is no extract, has no roads, or a step fails.
    """
    started = time.monotonic()
    root, name = roads_dir(), map_name(source)
    info = build_into(source, root, f"{_folder_name(name)}-{time.time_ns() // 1_000_000}", name, report, cancelled,
                      memory_limit)
    try:
        use_map(info)
    except OSError as exc:
        shutil.rmtree(info.directory, ignore_errors=True)
        raise _disk_error(root, exc) from exc
    remove_old_maps(info)
    if report is not None:
        report(1.0, "Done")
    log.info("road map %s built from %s in %.1f s: %s, %d streets, %d bytes, in %s", info.name, source,
             time.monotonic() - started, info.area_text, info.streets, info.size_bytes, info.directory)
    return info


def build_into(source: Path, root: Path, folder: str, name: str, report: Report | None = None,
               cancelled: Cancelled | None = None, memory_limit: int | None = None) -> MapInfo:
    """Build a road map from the extract at ``source`` into ``root``/``folder``, called ``name``, without making
    it the one in use (`build_road_map` does; the demo keeps its town's map apart). Built in a temporary folder
    beside it and renamed into place, so a reader never sees half of one; RoadMapError if ``folder`` exists."""
    say = report or (lambda fraction, stage: None)
    asked = cancelled or (lambda: False)
    try:
        root.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    except OSError as exc:
        raise RoadMapError(f"{root}: cannot make a folder for the road map ({exc.strerror or exc}); "
                           "check the disk and its permissions") from exc
    final = root / folder
    try:
        say(0.0, "Reading the extract")
        extract = read_extract(source, building, asked)
        if asked():
            raise BuildCancelled
        tools, profile = osrm_tools()
        link = building / f"map{SUFFIXES[extract.format]}"
        link.symlink_to(source.resolve())
        graph = building / "map.osrm"
        for tool, arguments in osrm_steps(profile, link, graph, extract.nodes):
            run_step(source, tools / tool, arguments, building, say, asked, memory_limit)
        link.unlink()
        say(0.98, "Putting the map in place")
        info = MapInfo(name=name, source=str(source.resolve()), south=extract.south, west=extract.west,
                       north=extract.north, east=extract.east, built_ms=time.time_ns() // 1_000_000,
                       size_bytes=0, streets=extract.streets, directory=final)
        write_atomically(building / MAP_JSON, info.to_json())  # its size counted below, then written again
        info = MapInfo(**{**vars(info), "size_bytes": folder_size(building)})
        write_atomically(building / MAP_JSON, info.to_json())
        if asked():
            raise BuildCancelled
        os.rename(building, final)
    except OSError as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise _disk_error(root, exc) from exc
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return info


def _folder_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-.")
    return cleaned[:60] or "map"


def _disk_error(root: Path, exc: OSError) -> RoadMapError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return RoadMapError(f"{root}: the disk is full; free some space and import the map again")
    return RoadMapError(f"{root}: cannot write the road map ({exc.strerror or exc}); check the disk and its "
                        "permissions")


def run_step(source: Path, tool: Path, arguments: list[str], folder: Path, say: Report, asked: Cancelled,
             memory_limit: int | None) -> None:
    """Run one OSRM tool in ``folder``, its output captured and logged, its progress reported from the lines
    it writes; killed on cancel (BuildCancelled), RoadMapError naming it and its last words when it fails."""
    stage, start, end, milestones = STAGES[tool.name]
    say(start, stage)
    output = folder / f".{tool.name}.log"
    limit = None if memory_limit is None else _address_space(memory_limit)
    with output.open("wb") as out, output.open("rb") as reading:
        try:
            process = subprocess.Popen([str(tool), *arguments], cwd=folder, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=limit)
        except OSError as exc:
            raise RoadMapError(f"{tool} cannot be run ({exc.strerror or exc}); reinstall Fleet Desk") from exc
        text, reached = "", 0.0
        try:
            while True:
                try:
                    process.wait(timeout=POLL_S)
                    finished = True
                except subprocess.TimeoutExpired:
                    finished = False
                text += reading.read().decode("utf-8", "replace")
                for marker, share in milestones:
                    if share > reached and marker in text:
                        reached = share
                say(start + (end - start) * reached, stage)
                if finished:
                    break
                if asked():
                    raise BuildCancelled
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output.unlink()
    log.debug("%s output:\n%s", tool.name, text)
    if process.returncode != 0:
        said = last_words(text)
        # INFO, not WARNING: the caller says it to the user in one line; the command line, which keeps no log
        # file, would print a WARNING's lines on the terminal
        log.info("%s failed (exit %s) building a road map from %s; its output ends:\n%s", tool.name,
                    process.returncode, source, "\n".join(text.strip().splitlines()[-15:]))
        raise RoadMapError(step_failure(source, tool.name, stage, process.returncode, said))


def _address_space(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def last_words(text: str) -> str:
    """The last meaningful line of a tool's output: its last error, else its last line, without the time and
    level OSRM puts in front."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "[error]" in line or "terminate called" in line or "what():" in line]
    chosen = (errors or lines or [""])[-1]
    return LOG_LINE.sub("", chosen).strip()


def step_failure(source: Path, tool: str, stage: str, code: int, said: str) -> str:
    """The one line a failed step ends the build with: the extract, the step, and why."""
    lowered = said.lower()
    if code == -signal.SIGKILL or code == 137:
        why = "it was killed, most likely for running out of memory; import a smaller area or close other programs"
    elif code < 0:
        why = f"it was stopped by signal {signal.Signals(-code).name}" if -code in signal.valid_signals() else \
            f"it was stopped by signal {-code}"
    elif "bad_alloc" in lowered or "cannot allocate" in lowered or "out of memory" in lowered or \
            "resource temporarily unavailable" in lowered:
        why = f"it ran out of memory ({said}); import a smaller area or close other programs"
    elif "no space left" in lowered:
        why = f"the disk is full ({said}); free some space and import the map again"
    else:
        why = f"{said or f'exit code {code}'}"
    return f"{source}: building the road map failed at {stage.lower()} ({tool}): {why}"


def remove_old_maps(keep: MapInfo) -> None:
    """Remove the maps ``keep`` replaces (only once it is the one in use); what cannot be removed now (another
    program may hold it) is logged and tried again next time."""
    try:
        current = current_map()
    except RoadMapError:
        return
    if current is None or current.directory.name != keep.directory.name:
        return
    for folder in roads_dir().iterdir():
        if folder.name == keep.directory.name or not folder.is_dir():
            continue
        if folder.name.startswith(".building-"):  # a build that never finished (its process killed) is
            if time.time() - folder.stat().st_mtime < STALE_BUILD_S:  # removed once no build can still be on it
                continue
        elif not (folder / MAP_JSON).exists():
            continue
        try:
            shutil.rmtree(folder)
            log.info("removed the road map %s, replaced by %s", folder, keep.directory)
        except OSError as exc:
            log.warning("could not remove the old road map %s (%s); it will be tried again", folder, exc)
