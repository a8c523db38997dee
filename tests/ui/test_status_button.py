"""The status bar's outbox text in a narrow window: cut at its end, never in the middle where the cause is, and
all of it in the tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from fleet_desk.ui.status_button import StatusButton
from tests.helpers.desk import Desk

LONG = "Outbox: 114 waiting (not sending: no tracking endpoint is set (Tools > Settings > Tracking endpoint))"


def _drawn(button: StatusButton) -> str:
    return QToolButton.text(button)  # what Qt draws, not the text as set


def test_a_long_text_is_cut_at_its_end_with_all_of_it_in_the_tooltip(qtbot: QtBot) -> None:
    button = StatusButton()
    qtbot.addWidget(button)
    button.setToolTip("Customer notices for the tracking endpoint (Tools > Outbox)")
    button.setText(LONG)
    button.resize(button.sizeHint())
    button.show()
    qtbot.waitExposed(button)
    assert _drawn(button) == LONG and button.toolTip() == "Customer notices for the tracking endpoint (Tools > Outbox)"
    button.resize(button.sizeHint().width() // 2, button.height())
    drawn = _drawn(button)
    assert drawn.endswith("…") and LONG.startswith(drawn[:-1]) and len(drawn) < len(LONG)
    assert "not sending: no tracking" in drawn
    assert button.text() == LONG and button.toolTip().startswith(LONG + "\n")
    button.setText("Outbox: all sent")
    assert _drawn(button) == "Outbox: all sent" and "not sending" not in button.toolTip()


def test_the_windows_outbox_text_is_one(desk: Desk) -> None:
    window, _engine = desk
    assert isinstance(window.outbox_button, StatusButton)
    assert window.outbox_button.minimumSizeHint().width() < window.outbox_button.fontMetrics().horizontalAdvance(LONG)
