"""Serial ports watched about once a second: a unit plugged in or pulled out is noticed.

Listing ports runs off the GUI thread. Only ports with USB details count as
"a unit plugged in" (built-in serial ports are always there), unless the
lister is given (tests list pseudo-terminals, which carry no USB details).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from drivers.base import PortInfo, list_ports
from fleet_desk.ui.tasks import run_in_background

WATCH_MS = 1000


class PortWatcher(QObject):
    """Notices units plugged in and pulled out by listing the serial ports every second, off the GUI thread:
    ``appeared`` with a new port's details, ``gone`` with a vanished port's path, ``listed`` with every port
    each time."""

    appeared = Signal(object)  # PortInfo
    gone = Signal(str)  # port path
    listed = Signal(list)  # every port, each time

    def __init__(self, parent: QObject | None = None, lister: Callable[[], list[PortInfo]] | None = None) -> None:
        super().__init__(parent)
        self.lister = lister or (lambda: [p for p in list_ports() if p.vid_pid])
        self.ports: dict[str, PortInfo] = {}
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(WATCH_MS)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()
        self.check()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        if self._busy:
            return
        self._busy = True
        run_in_background(self.lister, self._listed, self._failed, owner=self)

    def _listed(self, ports: list[PortInfo]) -> None:
        self._busy = False
        now = {p.device: p for p in ports}
        for path in self.ports.keys() - now.keys():
            self.gone.emit(path)
        for path in now.keys() - self.ports.keys():
            self.appeared.emit(now[path])
        self.ports = now
        self.listed.emit(list(now.values()))

    def _failed(self, _exc: Exception) -> None:
        self._busy = False
