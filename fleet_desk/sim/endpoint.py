"""The demo's own tracking endpoint: a receiver on 127.0.0.1 that checks each event's signature and keeps it.

The demo sends its customer notices here, never to the endpoint in the
user's settings: made-up orders must not reach real customers. The push
benchmarks use it as their local endpoint too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fleet_desk.push.endpoint import Endpoint


class DemoEndpoint:
    """A tracking endpoint on 127.0.0.1 for the demo and the push benchmarks: it refuses an event whose
    signature is wrong (401) and keeps the first delivery of each idempotency key.

    Send to its ``endpoint``; `start` and `stop` run and end its server thread.
    """

    def __init__(self) -> None:
        self.secret = secrets.token_hex(16)
        self.received: list[dict] = []  # first delivery of each event
        self.arrived: list[float] = []  # when each of those arrived (time.time())
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.endpoint = Endpoint(f"http://127.0.0.1:{self._server.server_address[1]}/demo-tracking", None,
                                 self.secret)
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-endpoint", daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(endpoint.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(self.headers.get("X-Fleet-Desk-Signature", ""), expected):
                    self._answer(401, b'{"error": "bad signature"}')
                    return
                endpoint.take(self.headers.get("Idempotency-Key", ""), body)
                self._answer(200, b'{"ok": true}')

            def _answer(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        return Handler

    def take(self, key: str, body: bytes) -> None:
        """Keep the event ``body`` unless its idempotency ``key`` came before."""
        arrived = time.time()
        with self._lock:
            if key not in self._keys:
                self._keys.add(key)
                self.received.append(json.loads(body))
                self.arrived.append(arrived)

    def start(self) -> None:
        """Start answering on 127.0.0.1 (the address is in ``endpoint``)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and free the port."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
