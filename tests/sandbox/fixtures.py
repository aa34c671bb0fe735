"""A provider sandbox on a free port and a webhook receiver, for the sandbox and channels tests."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from breachcomms.sandbox.app import Sandbox
from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.server import SandboxServer, start_server

API_KEY = "SG.test-key"
ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "test-auth-token"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """An HTTP request that returns error answers instead of raising them."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - local
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - local test servers only
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


@dataclass
class RunningSandbox:
    sandbox: Sandbox
    server: SandboxServer
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        reply = self.post_json("/sandbox/config", patch)
        assert reply.status == 200, reply.body
        return dict(reply.json())

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        data = json.dumps(payload).encode()
        return request(
            self.url + path, method="POST", data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )

    def get(self, path: str) -> Reply:
        return request(self.url + path)

    def messages(self, **query: str | int) -> list[dict[str, Any]]:
        reply = self.get("/sandbox/messages?" + "&".join(f"{k}={v}" for k, v in query.items()))
        assert reply.status == 200, reply.body
        return list(reply.json()["messages"])

    def stats(self) -> dict[str, Any]:
        return dict(self.get("/sandbox/stats").json())

    def mail_send(self, payload: Any, *, key: str = API_KEY) -> Reply:
        return self.post_json("/v3/mail/send", payload, {"Authorization": f"Bearer {key}"})

    def create_sms(self, form: dict[str, str], *, sid: str = ACCOUNT_SID, token: str = AUTH_TOKEN) -> Reply:
        auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
        return request(
            f"{self.url}/2010-04-01/Accounts/{sid}/Messages.json",
            method="POST",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"},
        )

    @property
    def public_key(self) -> str:
        return (self.data_dir / "sendgrid_webhook_public_key.txt").read_text().strip()


def make_config() -> SandboxConfig:
    config = SandboxConfig(sendgrid_api_key=API_KEY, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN)
    config.seed = 1234
    config.webhooks.batch_interval = 0.05
    return config


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    data_dir = tmp_path / "sandbox"
    running = Sandbox(make_config(), data_dir)
    running.start()
    server, _ = start_server(running)
    yield RunningSandbox(running, server, data_dir)
    server.shutdown()
    server.server_close()
    running.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Collects webhook posts; answers each with the next of ``statuses`` (then 200)."""

    port: int = 0
    posts: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: predicate(self.posts), timeout=timeout), f"got {len(self.posts)} posts"

    def sendgrid_events(self) -> list[dict[str, Any]]:
        with self.arrived:
            return [
                event for post in self.posts if post.path.startswith("/webhooks/sendgrid/") for event in post.json()
            ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    state.hold.set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.hold.wait(30)
            with state.arrived:
                status = state.statuses.pop(0) if state.statuses else 200
                if status == 200:
                    state.posts.append(Received(self.path, dict(self.headers), body))
                    state.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state
    state.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads, but never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()
