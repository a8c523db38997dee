"""A real HTTPS endpoint on this computer with a certificate of the test's choosing: self-signed for
``localhost`` (untrusted unless the test names it in REQUESTS_CA_BUNDLE), or one that has expired."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate made out to ``localhost`` (and nothing else: not 127.0.0.1), and its key."""
    now = dt.datetime.now(dt.UTC)
    return _certificate(folder, "cert", now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))


def expired(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` that ran out yesterday, and its key."""
    now = dt.datetime.now(dt.UTC)
    return _certificate(folder, "expired", now - dt.timedelta(days=10), now - dt.timedelta(days=1))


def _certificate(folder: Path, name: str, valid_from: dt.datetime, valid_to: dt.datetime) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    made = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(valid_from).not_valid_after(valid_to)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert, key_file = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key_file


@dataclass
class HttpsEndpoint:
    """The running server: its port, its certificate (for REQUESTS_CA_BUNDLE) and the headers of each POST it
    answered (a client that refused its certificate sent none)."""

    port: int
    cert: Path
    posts: list[dict[str, str]] = field(default_factory=list)

    def url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}/hook"


@contextmanager
def https_endpoint(cert: Path, key: Path) -> Iterator[HttpsEndpoint]:
    """An HTTPS server on 127.0.0.1 with ``cert`` that answers every POST 200 and keeps its headers."""
    posts: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)  # a refused handshake: accept fails, ignored
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield HttpsEndpoint(server.server_address[1], cert, posts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
