"""The window's view of the outbox: sends while the app runs and reports the outbox's state as signals.

Owns the `SenderThread`; its rounds arrive on that thread and become signals.
The state is re-read when the database's changes say an outbox event or a
stop changed (on this desk or another: other desks queue and send too), and
every `REFRESH_MS` as a safety net.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from sqlalchemy import Engine

from fleet_desk import messages
from fleet_desk.push.endpoint import Endpoint, EndpointError, endpoint
from fleet_desk.push.outbox import outbox_status, retry_dead, retry_now, summary
from fleet_desk.push.sender import OutboxSender, SenderThread, SendRound
from fleet_desk.settings import Settings, host_name
from fleet_desk.ui.tasks import run_in_background

log = logging.getLogger(__name__)
REFRESH_MS = 10_000  # the safety net: changes announced wake it sooner
WAKE_GAP_MS = 500  # changes arriving together: one re-read


class OutboxFeed(QObject):
    """The outbox while the app runs: sends in a `SenderThread` to the endpoint the settings name (or the
    demo's own), re-reads the outbox's state every few seconds and reports it (``statusChanged``) and each
    round (``roundDone``) on the GUI thread. It tells the user when notices are refused, cannot get through,
    or go out again."""

    statusChanged = Signal(dict)  # outbox_status(), plus "paused" and "problem"
    roundDone = Signal(object)  # SendRound

    def __init__(self, engine: Engine, settings: Settings, fixed_endpoint: Endpoint | None = None,
                 parent: QObject | None = None, desk: str | None = None) -> None:
        """``fixed_endpoint``: send there whatever the settings say (the demo's own endpoint); ``desk``: the
        name its claims and sends are recorded under (the depot's; None: this computer's name)."""
        super().__init__(parent)
        self.engine = engine
        self.fixed_endpoint = fixed_endpoint
        self.problem: str | None = None
        self.status: dict = {}
        self.outbox_sender = OutboxSender(engine, Endpoint("http://127.0.0.1/", None, ""), desk=desk or host_name())
        self.thread = SenderThread(self.outbox_sender, on_round=self.roundDone.emit)
        self._failing = False
        self._user_paused = False
        self.roundDone.connect(self._on_round)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(WAKE_GAP_MS)
        self._soon.timeout.connect(self.refresh)
        self.configure(settings)

    # Control
    def start(self) -> None:
        self.thread.start()
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
        self._soon.stop()
        self.thread.stop()

    def configure(self, settings: Settings) -> None:
        """Take the endpoint from ``settings`` (URL; secrets from the keyring or the environment)."""
        target = self.fixed_endpoint
        self.problem = None
        if target is None:
            try:
                target = endpoint(settings)
            except EndpointError as exc:
                self.problem = str(exc)
            else:
                if target is None:
                    self.problem = "no tracking endpoint is set (Tools > Settings > Tracking endpoint)"
        if target is not None:
            self.outbox_sender.endpoint = target
        self.thread.paused = self.problem is not None or self._user_paused
        self.thread.poke()
        self.refresh()

    @property
    def endpoint_url(self) -> str | None:
        return None if self.problem else self.outbox_sender.endpoint.shown

    @property
    def paused(self) -> bool:
        return self._user_paused

    def set_paused(self, paused: bool) -> None:
        self._user_paused = paused
        if paused:
            self.thread.pause()
        elif self.problem is None:
            self.thread.resume()
        self.refresh()

    def poke(self) -> None:
        """Something was stored that may have queued events: look now."""
        self.thread.poke()

    def changed(self, kinds: dict[str, set[int]]) -> None:
        """Changes on the database (`fleet_desk.ui.change_bell`): an outbox event or a stop (whose notices are
        queued with it) changed, here or at another desk: send what is due and re-read the state, soon."""
        if "outbox" in kinds or "stop" in kinds:
            self.thread.poke()
            if self._timer.isActive() and not self._soon.isActive():
                self._soon.start()

    def retry(self) -> None:
        """Retry now: refused events back in the queue, waiting ones due at once."""
        engine = self.engine

        def work() -> tuple[int, int]:
            return retry_dead(engine), retry_now(engine)

        def done(counts: tuple[int, int]) -> None:
            dead, waiting = counts
            messages.info(f"Outbox: {dead} refused and {waiting} waiting event(s) are being sent again"
                          if dead or waiting else "Outbox: nothing to retry")
            self.thread.poke()
            self.refresh()

        run_in_background(work, done, owner=self)

    def refresh(self) -> None:
        engine = self.engine
        run_in_background(lambda: outbox_status(engine), self._on_status, lambda exc: None, owner=self)

    def text(self) -> str:
        return summary(self.status, self.paused, self.problem) if self.status else "Outbox: …"

    # Reactions
    def _on_status(self, status: dict) -> None:
        self.status = {**status, "paused": self.paused, "problem": self.problem}
        self.statusChanged.emit(self.status)

    def _on_round(self, result: SendRound) -> None:
        if result.dead:
            messages.warning(f"The tracking endpoint refused {result.dead} customer notice(s): "
                             f"{result.refusal}. Tools > Outbox shows them; fix the cause, then Retry now.")
        failing = result.retrying > 0 and result.sent == 0
        if failing and not self._failing:
            messages.warning(f"Customer notices cannot reach the tracking endpoint: {result.last_error}. "
                             "They are kept and retried; nothing is lost.")
        elif self._failing and result.sent:
            messages.info("The tracking endpoint answers again; waiting customer notices are going out.")
        self._failing = failing or (self._failing and not result.sent)
        self.refresh()
