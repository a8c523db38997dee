"""One bridge for what users must be told: plain calls any layer can make.

Core code calls `error`, `warning` or `info` from any thread. Until a window
subscribes, messages are held; then each goes to every subscriber (the main
window's message bar). Each message is also logged.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("fleet_desk.messages")


class Level(enum.Enum):
    """How serious a message is: the level it is logged at and how the message bar shows it."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    """One thing to tell the user, as held until a window subscribes and then handed to each subscriber."""

    level: Level
    text: str


Listener = Callable[[Message], None]

_lock = threading.Lock()
_listeners: list[Listener] = []
_held: list[Message] = []
HELD_MAX = 100


def subscribe(listener: Listener) -> None:
    """Receive every message from now on, after those held so far."""
    with _lock:
        _listeners.append(listener)
        held, _held[:] = list(_held), []
    for message in held:
        listener(message)


def unsubscribe(listener: Listener) -> None:
    """Stop handing messages to ``listener`` (a closing window); with no subscriber left, messages are held
    again."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def post(level: Level, text: str) -> None:
    """Tell the user ``text``: logged at once, then handed to every subscriber on the caller's thread, or held
    (the last `HELD_MAX`) until one subscribes."""
    log.log({Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}[level], text)
    message = Message(level, text)
    with _lock:
        listeners = list(_listeners)
        if not listeners:
            _held.append(message)
            del _held[:-HELD_MAX]
    for listener in listeners:
        listener(message)


def info(text: str) -> None:
    """Tell the user something they may want to know; nothing is wrong (a unit plugged in, an export written)."""
    post(Level.INFO, text)


def warning(text: str) -> None:
    """Tell the user something went wrong that work goes on without (a unit unplugged, routes not readable
    this time)."""
    post(Level.WARNING, text)


def error(text: str) -> None:
    """Tell the user something failed that they must act on; the text says what failed and what to do."""
    post(Level.ERROR, text)


class Troubles:
    """What went wrong in a background thread, each kind told once until it goes well again.

    ``failed`` logs the trouble (with its traceback the first time, briefly after) and tells ``tell`` once, in
    one line: ``words``, then the exception's type and its first line (a database error's, not its SQL),
    then ``then`` (what happens next); ``recovered`` ends it, so it is told again if it comes back."""

    def __init__(self, logger: logging.Logger, tell: Callable[[str], None]) -> None:
        self.logger = logger
        self.tell = tell
        self._current: set[str] = set()

    def __bool__(self) -> bool:
        """Whether anything is going wrong now."""
        return bool(self._current)

    def failed(self, what: str, exc: BaseException, words: str, then: str = "retrying") -> None:
        """``what`` (a kind of trouble, e.g. "read") went wrong with ``exc``."""
        if what in self._current:
            self.logger.debug("%s failed again: %s", what, exc)
            return
        self._current.add(what)
        self.logger.warning("%s failed; %s", what, then, exc_info=True)
        said = (str(exc).splitlines() or [""])[0][:200]
        self.tell(f"{words} ({type(exc).__name__}: {said}); {then}.")

    def recovered(self, what: str) -> None:
        """``what`` went well."""
        self._current.discard(what)
