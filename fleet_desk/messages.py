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
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
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
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def post(level: Level, text: str) -> None:
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
    post(Level.INFO, text)


def warning(text: str) -> None:
    post(Level.WARNING, text)


def error(text: str) -> None:
    post(Level.ERROR, text)
