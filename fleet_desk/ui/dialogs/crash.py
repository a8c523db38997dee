"""Unexpected exceptions: logged with their traceback, shown as a dialog naming the log file.

Never a raw traceback in the user's face, never a silent death.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("fleet_desk.crash")


class _CrashRelay(QObject):
    crashed = Signal(str, str)  # summary, traceback


class CrashHandler:
    """Installs itself as ``sys.excepthook`` and ``threading.excepthook``."""

    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file
        self.relay = _CrashRelay()
        self.relay.crashed.connect(self._show)
        self.shown: list[str] = []  # summaries shown, for tests
        self.show_dialog = True

    def install(self) -> None:
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__

    def _excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error:\n%s", text)
        self.relay.crashed.emit(f"{kind.__name__}: {value}", text)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        self._excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, summary: str, _text: str) -> None:
        self.shown.append(summary)
        if not self.show_dialog or QThread.currentThread() is not QApplication.instance().thread():
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Fleet Desk: unexpected error",
                          f"Fleet Desk hit an unexpected error and carried on:\n\n{summary}\n\n"
                          f"The details are in the log file:\n{self.log_file}\n\n"
                          "Please send that file to support. If something looks wrong, restart Fleet Desk; "
                          "stored positions are safe.",
                          QMessageBox.StandardButton.Ok, QApplication.activeWindow())
        box.setModal(False)
        box.show()
        self._box = box
