"""A real tracking endpoint on 127.0.0.1 that misbehaves on request, for the push tests.

Each request takes the next fault from a script: "ok", an HTTP status ("500",
"400"), "429:<seconds>" (with Retry-After), "slow:<seconds>" (answers after
that long), or "drop" (closes the connection without answering). Every request
is checked the way a careful receiver would: the signature over the exact
body, the schema, and each Idempotency-Key accepted once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema

from tests.helpers.paths import ROOT
from tests.helpers.waiting import wait_until

SCHEMA = json.loads((ROOT / "resources" / "schemas" / "tracking-event.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


class Receiver:
    def __init__(self, secret: str, token: str | None = None):
        self.secret, self.token = secret, token
        self.faults: list[str] = []
        self.accepted: list[dict] = []  # first delivery of each event, in arrival order
        self.keys: dict[str, int] = {}  # idempotency key -> times seen
        self.problems: list[str] = []  # bad signatures, schema errors, missing headers
        self.in_flight = 0  # requests accepted and not yet answered (a slow one goes on after its client gave up)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    fault = receiver.faults.pop(0) if receiver.faults else "ok"
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault.startswith("slow:"):
                    time.sleep(float(fault.split(":")[1]))
                    fault = "ok"
                if fault.startswith("429:"):
                    self._answer(429, b"slow down", {"Retry-After": fault.split(":")[1]})
                    return
                if fault != "ok":
                    self._answer(int(fault), b'{"error": "injected"}')
                    return
                receiver.take(self.headers, body)
                self._answer(200, b'{"ok": true}')

            def _answer(self, status: int, text: bytes, extra: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        class Server(ThreadingHTTPServer):
            block_on_close = True  # server_close waits for the requests being answered

            def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
                with receiver.lock:  # counted from the accept, before its thread reads it
                    receiver.in_flight += 1
                super().process_request(request, client_address)

            def process_request_thread(self, request: socket.socket, client_address: tuple[str, int]) -> None:
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def handle_error(self, request, client_address) -> None:
                pass  # a client that gave up (timeout) and closed: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, headers, body: bytes) -> None:
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        with self.lock:
            if not hmac.compare_digest(headers.get("X-Fleet-Desk-Signature", ""), expected):
                self.problems.append("bad signature")
            if self.token and headers.get("Authorization") != f"Bearer {self.token}":
                self.problems.append("missing bearer token")
            doc = json.loads(body)
            for error in VALIDATOR.iter_errors(doc):
                self.problems.append(f"schema: {error.message}")
            if headers.get("X-Fleet-Desk-Event") != doc["type"]:
                self.problems.append("X-Fleet-Desk-Event does not match the body")
            key = headers.get("Idempotency-Key")
            if key != doc["event_id"]:
                self.problems.append("Idempotency-Key is not the event id")
            self.keys[key] = self.keys.get(key, 0) + 1
            if self.keys[key] == 1:
                self.accepted.append(doc)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every request received has been answered (or its answer failed)."""
        wait_until(lambda: self.in_flight == 0, timeout)

    def close(self) -> None:
        """Stop serving; a request still being answered is answered first (its thread ends with it)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
