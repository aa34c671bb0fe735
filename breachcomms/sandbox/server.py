"""The sandbox's HTTP server: the standard library's threading server, HTTP/1.1 keep-alive, no Nagle delay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from breachcomms.sandbox.app import Sandbox, Stream
from breachcomms.sandbox.replies import Reply, json_reply
from breachcomms.sandbox.sendgrid_validation import MAX_REQUEST_BYTES

logger = logging.getLogger(__name__)
# A body over the provider limit is read and dropped (so the client gets its 413 instead of a reset
# connection), up to this size; beyond it the connection is closed.
DRAIN_LIMIT = 4 * MAX_REQUEST_BYTES
PROVIDER_PREFIXES = ("/v3/", "/2010-04-01/")
MAX_LINE = 65536
MAX_HEADERS = 100


class RequestHeaders(Mapping[str, str]):
    """The request's headers as a read-only, case-insensitive mapping (a repeated header keeps its last value)."""

    def __init__(self, lowered: dict[str, str]) -> None:
        self.lowered = lowered

    def __getitem__(self, name: str) -> str:
        return self.lowered[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lowered)

    def __len__(self) -> int:
        return len(self.lowered)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, allowed_hosts: set[str]) -> None:
        super().__init__(address, SandboxHandler)
        self.sandbox = sandbox
        self.allowed_hosts = {"127.0.0.1", "localhost", "[::1]", *allowed_hosts}

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "breachcomms-provider-sandbox"
    sys_version = ""
    disable_nagle_algorithm = True  # otherwise kept-alive requests wait for delayed ACKs
    server: SandboxServer
    fields: RequestHeaders

    def handle_one_request(self) -> None:
        """Read one request and answer it.

        Replaces the standard library's version, whose header parsing through the email package costs more
        than the rest of a Twilio request; only what the sandbox needs is read.
        """
        raw = self.rfile.readline(MAX_LINE + 1)
        if not raw:
            self.close_connection = True
            return
        parts = raw.decode("latin-1").split()
        if len(raw) > MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.close_connection = True
            self._write(json_reply(400, {"error": "bad request line"}))
            return
        self.command, self.path, self.request_version = parts
        self.requestline = raw.decode("latin-1").rstrip("\r\n")
        headers = self._read_headers()
        if headers is None:
            self.close_connection = True
            self._write(json_reply(431, {"error": "request header fields too large"}))
            return
        self.fields = RequestHeaders(headers)
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (parts[2] == "HTTP/1.0" and connection != "keep-alive")
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if self.command in ("GET", "POST"):
            self._dispatch(self.command)
        else:
            self.close_connection = True
            self._write(json_reply(405, {"error": "method not allowed"}))

    def _read_headers(self) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            if len(line) > MAX_LINE:
                return None
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return None

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith(PROVIDER_PREFIXES) and not self._host_allowed():
            # The control API and page answer only under a local name (no DNS rebinding from a web page).
            self._write(json_reply(403, {"error": "unknown Host"}))
            return
        body, size = self._read_body(method)
        if body is None and size > DRAIN_LIMIT:
            self.close_connection = True
            self._write(json_reply(413, {"errors": [{"message": "request entity too large", "field": None}]}))
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True)) if url.query else {}
        try:
            reply = self.server.sandbox.route(method, url.path, query, self.fields, body, size)
        except Exception:
            logger.exception("sandbox error on %s %s", method, url.path)
            reply = json_reply(500, {"error": "sandbox error; see its log"})
        if isinstance(reply, Stream):
            self._stream(reply)
        else:
            self._write(reply)

    def _host_allowed(self) -> bool:
        host = self.fields.get("Host", "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.server.allowed_hosts

    def _read_body(self, method: str) -> tuple[bytes | None, int]:
        """The body, or None (with its size) when it exceeds the provider limit and was drained."""
        raw = self.fields.get("Content-Length")
        if raw is None:
            return b"", 0
        try:
            size = max(0, int(raw))
        except ValueError:
            self.close_connection = True
            return b"", 0
        if size < MAX_REQUEST_BYTES:
            return self.rfile.read(size), size
        remaining = size if size <= DRAIN_LIMIT else 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        return None, size

    def _write(self, reply: Reply) -> None:
        lines = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        headers = {
            "Server": self.server_version,
            "Date": self.date_time_string(),
            "Content-Type": reply.content_type,
            "Content-Length": str(len(reply.body)),
            "X-Content-Type-Options": "nosniff",
            **reply.headers,
        }
        if self.close_connection:
            headers["Connection"] = "close"
        lines += [f"{name}: {value}" for name, value in headers.items()]
        # Status, headers and body in one write: one packet for small answers.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
        self._log(reply.status)

    def _stream(self, stream: Stream) -> None:
        head = (
            f"HTTP/1.1 {stream.status} {self.responses.get(stream.status, ('',))[0]}\r\n"
            f"Server: {self.server_version}\r\nDate: {self.date_time_string()}\r\n"
            f"Content-Type: {stream.content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1"))
        buffer: list[str] = []
        size = 0
        for chunk in stream.chunks:
            buffer.append(chunk)
            size += len(chunk)
            if size >= 1 << 16:
                self._chunk("".join(buffer).encode())
                buffer, size = [], 0
        if buffer:
            self._chunk("".join(buffer).encode())
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _log(self, status: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %d", self.command, self.path, status)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's signature
        logger.debug("%s " + format, self.address_string(), *args)  # not called by this handler; kept quiet


def start_server(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, allowed_hosts: set[str] | None = None) -> (
    tuple[SandboxServer, threading.Thread]
):  # fmt: skip
    """Serve ``sandbox`` from a background thread (port 0: any free port); stop with ``server.shutdown()``."""
    server = SandboxServer((host, port), sandbox, allowed_hosts or {host})
    # A short poll interval: shutdown() returns within it (tests start and stop many sandboxes).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="sandbox-server", daemon=True)
    thread.start()
    return server, thread
