"""Customer lookup (Ctrl+L): the "where is my order" answer for an agent on a call.

A panel of the main window, tabbed with the fleet board and the routes (it can
be floated). Not a window of its own: a second top-level window holding a web
view painted black on a software-rendered X server while the main map ran.

One search box, results as you type (debounced, read in the background),
keyboard first: Enter opens the top (or highlighted) result, Up and Down move,
Esc clears. The answer card says what to tell the customer; a small map shows
the stop and the van's last position (a stale one drawn as stale). Read only:
nothing here changes a route or a stop. Phones and e-mails are masked.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import tzinfo

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import times
from fleet_desk.clock import now_ms
from fleet_desk.depot import Depot
from fleet_desk.fleet.vehicles import FleetVehicle, vehicle_state
from fleet_desk.lookup import lookup_orders
from fleet_desk.lookup.answer import EVENT_WORDS, NOTICE_STATUS, OrderAnswer, age_words, answer_for
from fleet_desk.lookup.search import Hit
from fleet_desk.settings import Settings
from fleet_desk.ui.map.view import FleetMapView
from fleet_desk.ui.tasks import run_in_background

DEBOUNCE_MS = 150
REFRESH_MS = 15_000  # the card's ages and ETAs move on while the agent talks
STATUS_WORDS = {"pending": "to do", "arrived": "van there", "delivered": "delivered", "failed": "failed"}


class LookupView(QWidget):
    """The Customer lookup panel on ``depot`` (its database, and its rules: time zone, phone region); its small
    map drawn with ``settings``' tiles, around the depot at ``depot_position`` when it is known."""

    def __init__(self, depot: Depot, settings: Settings, depot_position: tuple[float, float] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depot = depot
        self._query_seq = 0
        self.hits: list[Hit] = []
        self.answer: OrderAnswer | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Tracking number, order, phone, name, e-mail or street")
        self.search.setClearButtonEnabled(True)
        font = self.search.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.search.setFont(font)
        self.search.installEventFilter(self)
        self.search.textEdited.connect(self._typed)
        self.results = QListWidget(self)
        self.results.currentRowChanged.connect(self._picked)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay in the search box
        self.found = QLabel(self)

        self.card = QTextBrowser(self)
        self.card.setOpenLinks(False)
        self.copy_button = QPushButton("&Copy answer", self)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_answer)
        self.map = FleetMapView(settings, depot_position, self)
        self.map.setMinimumHeight(200)

        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.search)
        column.addWidget(self.found)
        column.addWidget(self.results, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(left)
        card_box = QWidget(split)
        card_layout = QVBoxLayout(card_box)
        card_layout.setContentsMargins(0, 0, 0, 0)
        card_layout.addWidget(self.card, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        card_layout.addLayout(buttons)
        split.addWidget(card_box)
        split.addWidget(self.map)
        split.setSizes([170, 330, 240])
        QVBoxLayout(self).addWidget(split)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._run_query)
        self._refresh = QTimer(self)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._reload_card)
        self._refresh.start()
        self._show_card(None)

    # Keyboard
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.results.count():
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.results.count() - 1, self.results.currentRow() + step))
                self.results.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_result()
                return True
            if key == Qt.Key.Key_Escape:
                self.clear()
                return True
        return super().eventFilter(watched, event)

    def open_result(self) -> None:
        """Enter: the highlighted result, or the top one; now, without waiting for the debounce."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._run_query()
            return
        if self.results.count():
            self.results.setCurrentRow(max(0, self.results.currentRow()))
            self._reload_card()

    def changed(self, kinds: dict[str, set[int]]) -> None:
        """Changes on the database, this desk's or another's (`fleet_desk.ui.change_bell`): the card is read
        again when its stop changed or an outbox event did (its notices); the clock's part waits for
        `REFRESH_MS`."""
        a = self.answer
        if a is not None and (a.stop_id in kinds.get("stop", ()) or "outbox" in kinds):
            self._reload_card()

    def clear(self) -> None:
        self._query_seq += 1
        self.search.clear()
        self.results.clear()
        self.hits = []
        self.found.setText("")
        self._show_card(None)

    def start_search(self, text: str = "") -> None:
        """Ctrl+L: the search box focused (with ``text`` if given)."""
        self.search.setFocus()
        if text:
            self.search.setText(text)
            self._typed(text)
        else:
            self.search.selectAll()

    # Searching
    def _typed(self, _text: str) -> None:
        self._debounce.start()

    def _run_query(self) -> None:
        text = self.search.text().strip()
        self._query_seq += 1
        seq = self._query_seq
        if not text:
            self.clear()
            return
        engine, rules = self.depot.engine, self.depot.rules
        run_in_background(lambda: lookup_orders(engine, text, rules), lambda result: self._results(seq, text, *result),
                          owner=self)

    def _results(self, seq: int, text: str, hits: list[Hit], answers: list[OrderAnswer]) -> None:
        if seq != self._query_seq:
            return  # the agent typed on; a newer query is on its way
        self.hits = hits
        self.results.blockSignals(True)
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.tracking_number} · {hit.customer_name}\n{hit.phone} · {hit.address} · "
                                   f"{STATUS_WORDS.get(hit.status, hit.status)} ({hit.service_date})")
            item.setToolTip(f"order {hit.order_id} · {hit.email}")
            self.results.addItem(item)
        if hits:
            self.results.setCurrentRow(0)
        self.results.blockSignals(False)
        self.found.setText(f"{len(hits)} match{'es' if len(hits) != 1 else ''}" if hits
                           else f"No order matches “{text}”.")
        self._show_card(answers[0] if answers else None)

    def _picked(self, row: int) -> None:
        if 0 <= row < len(self.hits) and (self.answer is None or self.answer.stop_id != self.hits[row].stop_id):
            self._reload_card()

    def _reload_card(self) -> None:
        row = self.results.currentRow()
        if not (0 <= row < len(self.hits)) or not self.isVisible():
            return
        engine, rules, stop_id = self.depot.engine, self.depot.rules, self.hits[row].stop_id
        run_in_background(lambda: answer_for(engine, stop_id, rules, now_ms()), self._card_for(stop_id), owner=self)

    def _card_for(self, stop_id: int) -> Callable[[OrderAnswer | None], None]:
        def show(answer: OrderAnswer | None) -> None:
            row = self.results.currentRow()
            if 0 <= row < len(self.hits) and self.hits[row].stop_id == stop_id:
                self._show_card(answer)

        return show

    # The card
    def _show_card(self, a: OrderAnswer | None) -> None:
        self.answer = a
        self.copy_button.setEnabled(a is not None)
        if a is None:
            self.card.setHtml("<p style='color:#757575'>Type what the caller gives: a tracking number, an order "
                              "number, a phone number in any format, a name (accents optional), an e-mail or a "
                              "street. Enter opens the top result, ↑ ↓ move, Esc clears.</p>")
            return
        self.card.setHtml(card_html(a, self.depot.rules.timezone))
        stop = {"lat": a.lat, "lon": a.lon, "status": a.stop_status,
                "label": f"{a.customer_name}, stop {a.sequence}"}
        vehicle = None
        if a.vehicle is not None:
            seen = a.vehicle
            fleet_vehicle = FleetVehicle(a.vehicle_id, a.vehicle_label, a.driver, None, seen.fix_ms, seen.lat,
                                         seen.lon, None, None)
            vehicle = (fleet_vehicle, vehicle_state(seen.fix_ms, None, now_ms()))
        self.map.focus_order(stop, vehicle)

    def copy_answer(self) -> None:
        if self.answer is not None:
            QGuiApplication.clipboard().setText(self.answer.words)


def card_html(a: OrderAnswer, tz: tzinfo | None) -> str:
    """The answer card as HTML: the words to say first, then the facts behind them (times at the depot)."""

    def clock(ms: int | None) -> str:
        return times.day_hhmm(ms, tz)

    e = html.escape
    behind = a.delay is not None or (a.eta is not None and a.eta[2] > a.window[1])
    alert = "#e65100" if behind else "#1b5e20"
    parts = [f"<h3 style='margin:0'>{e(a.tracking_number)} · {e(a.customer_name)}</h3>",
             f"<p style='color:#555'>order {e(a.order_id)} · {e(a.address)} · {e(a.phone or '-')} · "
             f"{e(a.email or '-')}</p>",
             f"<p style='font-size:large; color:{alert}'><b>{e(a.words)}</b></p>"]
    route = (f"Route {e(a.route_key)} ({e(a.service_date)}), {e(a.vehicle_label)}"
             + (f", driver {e(a.driver)}" if a.driver else "")
             + f": {a.stops_done} of {a.stops_total} stops done; this is stop {a.sequence}.")
    parts.append(f"<p>{route}<br>Promised window {times.hhmm(a.window[0], tz)} to {times.hhmm(a.window[1], tz)}.")
    if a.vehicle is not None:
        if a.vehicle.stale:
            parts.append(f"<br><span style='color:#c62828'>Last seen {e(age_words(a.vehicle.fix_age_s))} ago "
                         f"{e(a.vehicle.near)}: not live.</span>")
        else:
            parts.append(f"<br>Position {e(a.vehicle.near)}, {e(age_words(a.vehicle.fix_age_s))} old.")
    parts.append("</p><h4>Timeline</h4><table cellspacing=2>")
    parts += [f"<tr><td style='color:#555'>{clock(t.time_ms)}</td><td>{e(EVENT_WORDS.get(t.type, t.type))}</td>"
              f"<td>{e(t.said)}</td></tr>" for t in a.timeline]
    parts.append("</table><h4>Told the customer</h4>")
    if a.notices:
        parts.append("<table cellspacing=2>")
        parts += [f"<tr><td style='color:#555'>{clock(n.time_ms)}</td><td>{e(n.said)}</td>"
                  f"<td style='color:#555'>{e(NOTICE_STATUS.get(n.status, n.status))}</td></tr>" for n in a.notices]
        parts.append("</table>")
    else:
        parts.append(f"<p>{e(a.untold[:1].upper() + a.untold[1:])}.</p>")
    return "".join(parts)
