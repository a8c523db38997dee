"""Fleet Desk's own resources: the map page's JS/CSS, icons, schemas, demo data."""

from pathlib import Path

DIR = Path(__file__).resolve().parent

APP_ICON = DIR / "icons" / "fleet-desk.svg"
