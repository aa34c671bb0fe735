"""The sandbox's HTTP layer: keep-alive, HTTP/1.0, malformed requests."""

from __future__ import annotations

import socket

from tests.sandbox.fixtures import RunningSandbox


def exchange(sandbox: RunningSandbox, data: bytes, answers: int = 1) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=5) as sock:
        sock.sendall(data)
        reader = sock.makefile("rb")
        replies = []
        for _ in range(answers):
            status = reader.readline()
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            replies.append(status + reader.read(length))
        rest = reader.read()  # b"" once the server has closed the connection
        return [*replies, rest]


STATS = b"GET /sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_requests_on_one_connection_are_answered_in_turn(sandbox: RunningSandbox) -> None:
    first, second, rest = exchange(sandbox, STATS + STATS.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), 2)

    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
    assert rest == b""  # closed as asked


def test_an_http_10_request_is_answered_and_the_connection_closed(sandbox: RunningSandbox) -> None:
    reply, rest = exchange(sandbox, b"GET /sandbox/stats HTTP/1.0\r\nHost: localhost\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 200")
    assert rest == b""


def test_a_client_expecting_100_continue_gets_it(sandbox: RunningSandbox) -> None:
    body = b"{}"
    request = (
        b"POST /v3/mail/send HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nConnection: close\r\n"
        b"Content-Length: 2\r\n\r\n" + body
    )

    interim, final, _ = exchange(sandbox, request, 2)

    assert interim.startswith(b"HTTP/1.1 100")
    assert final.startswith(b"HTTP/1.1 401")


def test_a_malformed_request_line_is_a_400_and_closes(sandbox: RunningSandbox) -> None:
    reply, rest = exchange(sandbox, b"NONSENSE\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 400")
    assert rest == b""


def test_another_method_is_a_405(sandbox: RunningSandbox) -> None:
    reply, _ = exchange(sandbox, b"DELETE /sandbox/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 405")
