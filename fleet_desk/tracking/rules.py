"""The thresholds tracking works with, in SI units, taken from the user's settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from fleet_desk import times
from fleet_desk.settings import Settings

SLOW_MPS = 2.5  # below this a vehicle near a stop counts as stopping there
STALE_S = 120  # a fix older than this is not live
SILENT_S = 600  # a unit silent this long is flagged; its ETAs stop moving


@dataclass(frozen=True)
class TrackingRules:
    """The thresholds of arrival, ETA, delay and customer notices, in SI units: made from the settings by
    `from_settings` and handed to the tracker, so no rule reads the settings itself."""

    stop_radius_m: float = 60.0
    exit_margin_m: float = 25.0  # leaving takes radius + margin, so jitter at the edge does not flap
    dwell_s: float = 45.0
    default_speed_mps: float = 30 / 3.6
    circuity: float = 1.3
    service_s: float = 240.0
    late_threshold_s: float = 300.0
    eta_notice_s: float = 600.0
    eta_notice_interval_s: float = 300.0
    arriving_soon_stops: int = 1
    arriving_soon_s: float = 600.0
    news_max_age_s: float = 300.0
    depot: tuple[float, float] | None = None
    timezone: tzinfo | None = None  # None: this computer's
    phone_region: str | None = None  # customers' national phone numbers are of this region (e.g. FR); None: see
    # fleet_desk.store.search_index.usual_region

    def local_day(self, ms: int) -> str:
        """The depot's date (YYYY-MM-DD) at ``ms``: the service day routes belong to."""
        return times.local_day(ms, self.timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackingRules:
        """The rules the user's settings give, in SI units."""
        return cls(
            stop_radius_m=settings.stop_radius_m,
            dwell_s=settings.arrival_dwell_s,
            default_speed_mps=settings.default_speed_kmh / 3.6,
            circuity=settings.road_circuity,
            service_s=settings.service_minutes * 60,
            late_threshold_s=settings.late_threshold_min * 60,
            eta_notice_s=settings.eta_notice_min * 60,
            eta_notice_interval_s=settings.eta_notice_interval_min * 60,
            arriving_soon_stops=settings.arriving_soon_stops,
            arriving_soon_s=settings.arriving_soon_min * 60,
            news_max_age_s=settings.news_max_age_min * 60,
            depot=parse_location(settings.depot_location),
            timezone=ZoneInfo(settings.depot_timezone) if settings.depot_timezone else None,
            phone_region=settings.phone_region.upper() or None,
        )


def parse_location(text: str) -> tuple[float, float] | None:
    """ "45.75, 4.85" -> (45.75, 4.85); empty -> None."""
    if not text.strip():
        return None
    lat, lon = (float(part) for part in text.split(","))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"not a position: {text!r}")
    return lat, lon
