"""The item models behind the window's tables (Qt's model/view): rows keyed by id, redrawn only where they changed.

Panels (`fleet_desk.ui.panels`) put views and proxies over them; the models
hold no widgets. A model that shows times asks its ``zone`` for the depot's
time zone when it draws, so a changed setting shows on the next repaint.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

Zone = Callable[[], tzinfo | None]
"""The depot's time zone now (`TrackingRules.timezone`; None: the setting is empty, the computer's zone)."""
