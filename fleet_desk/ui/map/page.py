"""The fleet map's HTML page, built once with folium and drawn offline.

Leaflet's JS/CSS come from the installed ``xstatic-leaflet`` package and the
page's own code from ``resources/map``, all as ``file://`` URLs, so the map
draws with no internet; only the tiles are online, and their absence is shown.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import folium
import xstatic.pkg.leaflet as xleaflet
from branca.element import MacroElement
from jinja2 import Template

import resources

MAP_DIR = resources.DIR / "map"
LEAFLET_DIR = Path(xleaflet.BASE_DIR)
QWEBCHANNEL_JS = "qrc:///qtwebchannel/qwebchannel.js"
DEPOT_ZOOM = 13  # a city around the depot
WHOLE_MAP, WHOLE_MAP_ZOOM = (20.0, 0.0), 2  # no depot known: the world, until the fleet is framed


def _file_url(path: Path) -> str:
    return path.resolve().as_uri()


class _FleetLayer(MacroElement):
    """Adds the page's own script and style after Leaflet's, and starts it after the map exists."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <script src="{{ this.qwebchannel }}"></script>
            <script src="{{ this.js }}"></script>
            <link rel="stylesheet" href="{{ this.css }}"/>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            fleetMap.init({{ this.map_name|tojson }}, {{ this.config|tojson }});
        {% endmacro %}
    """)

    def __init__(self, map_name: str, config: dict) -> None:
        super().__init__()
        self._name = "FleetLayer"
        self.map_name = map_name
        self.config = config
        self.qwebchannel = QWEBCHANNEL_JS
        self.js = _file_url(MAP_DIR / "fleet_map.js")
        self.css = _file_url(MAP_DIR / "fleet_map.css")


def build_map_page(
    depot: tuple[float, float] | None,
    tile_url: str,
    attribution: str,
    trail_minutes: int,
    colors: dict[str, str],
    stop_colors: dict[str, str] | None = None,
) -> str:
    """The page's HTML; ``window.fleetMap`` is ready once the bridge's pageReady is called. It opens on the
    depot (marked), or, where the depot is not known, on the whole map until the fleet's positions frame it."""
    center, zoom = (depot, DEPOT_ZOOM) if depot is not None else (WHOLE_MAP, WHOLE_MAP_ZOOM)
    # Leaflet's own type size (folium's default, 1rem, makes the scale bar's figures overflow their bars).
    fmap = folium.Map(location=center, zoom_start=zoom, tiles=None, control_scale=True, prefer_canvas=False,
                      font_size="0.75rem")
    fmap.default_js = [("leaflet", _file_url(LEAFLET_DIR / "leaflet.js"))]
    fmap.default_css = [("leaflet_css", _file_url(LEAFLET_DIR / "leaflet.css"))]
    if tile_url.strip():
        folium.TileLayer(tiles=tile_url, attr=attribution or " ", name="tiles", max_zoom=19).add_to(fmap)
    config = {
        "colors": colors,
        "stopColors": stop_colors or {},
        "trailMinutes": trail_minutes,
        "tileHost": urlsplit(tile_url).hostname or tile_url,
        "depot": list(depot) if depot is not None else None,
    }
    fmap.add_child(_FleetLayer(fmap.get_name(), config))
    root = fmap.get_root()
    return root.render()


def base_url() -> str:
    """The page's base URL: a local directory, so its file:// scripts may load."""
    return _file_url(MAP_DIR) + "/"
