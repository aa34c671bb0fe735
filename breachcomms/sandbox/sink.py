"""A webhook receiver that only counts (``python -m breachcomms.sandbox.sink PORT``), for the benchmarks.

It answers 200 to every POST, counts SendGrid events and Twilio callbacks, and tells the counts on GET.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"posts": 0, "sendgrid_events": 0, "twilio_callbacks": 0}
lock = threading.Lock()


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 - the standard library's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            counts["posts"] += 1
            if body.startswith(b"["):
                counts["sendgrid_events"] += body.count(b'"sg_event_id"')
            else:
                counts["twilio_callbacks"] += 1
        self._answer(b"")

    def do_GET(self) -> None:  # noqa: N802
        with lock:
            self._answer(json.dumps(counts).encode())

    def _answer(self, body: bytes) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), SinkHandler)
    server.daemon_threads = True
    print(f"sink listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
