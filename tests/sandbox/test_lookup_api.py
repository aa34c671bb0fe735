"""The sandbox's search APIs that reconciliation asks: SendGrid's Email Activity and Twilio's message list."""

from __future__ import annotations

import base64
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from breachcomms.sandbox.activity import QueryError, parse_query
from tests.sandbox.fixtures import ACCOUNT_SID, API_KEY, AUTH_TOKEN, Reply, RunningSandbox, request


def send_emails(sandbox: RunningSandbox, *recipients: tuple[str, str]) -> str:
    reply = sandbox.mail_send(
        {
            "from": {"email": "security@shop.example"},
            "subject": "About your data",
            "content": [{"type": "text/plain", "value": "Hello"}],
            "personalizations": [
                {"to": [{"email": address}], "custom_args": {"delivery_id": delivery_id}}
                for delivery_id, address in recipients
            ],
        }
    )
    assert reply.status == 202, reply.body
    return reply.headers["X-Message-Id"]


def activity(sandbox: RunningSandbox, query: str | None, *, limit: str = "100", key: str = API_KEY) -> Reply:
    params = {"limit": limit, **({"query": query} if query is not None else {})}
    return request(
        f"{sandbox.url}/v3/messages?{urllib.parse.urlencode(params)}", headers={"Authorization": f"Bearer {key}"}
    )


def by_delivery(*ids: str) -> str:
    return " OR ".join(f"(unique_args['delivery_id']=\"{i}\")" for i in ids)


def test_email_activity_finds_accepted_messages_by_their_delivery_id(sandbox: RunningSandbox) -> None:
    first = send_emails(sandbox, ("1", "ann@example.org"), ("2", "bo@example.org"))
    second = send_emails(sandbox, ("3", "cy@example.org"))

    reply = activity(sandbox, by_delivery("2", "3", "99"))

    assert reply.status == 200
    messages = reply.json()["messages"]
    assert [m["to_email"] for m in messages] == ["cy@example.org", "bo@example.org"]  # most recent first
    assert messages[0]["msg_id"].startswith(second + ".")
    assert messages[1]["msg_id"].startswith(first + ".")
    assert set(messages[0]) == {
        "from_email", "msg_id", "subject", "to_email", "status", "opens_count", "clicks_count", "last_event_time"
    }  # fmt: skip
    assert messages[0]["status"] == "delivered"
    assert messages[0]["from_email"] == "security@shop.example"


def test_email_activity_conditions_joined_by_and_must_all_hold(sandbox: RunningSandbox) -> None:
    send_emails(sandbox, ("1", "ann@example.org"), ("2", "bo@example.org"))
    both = 'unique_args[\'delivery_id\']="1" AND to_email="ANN@example.org"'
    assert [m["to_email"] for m in activity(sandbox, both).json()["messages"]] == ["ann@example.org"]
    neither = 'unique_args[\'delivery_id\']="1" AND to_email="bo@example.org"'
    assert activity(sandbox, neither).json()["messages"] == []


def test_email_activity_answers_at_most_limit_messages(sandbox: RunningSandbox) -> None:
    send_emails(sandbox, *((str(i), f"c{i}@example.org") for i in range(5)))
    assert len(activity(sandbox, None, limit="3").json()["messages"]) == 3
    assert activity(sandbox, None, limit="0").status == 400
    assert activity(sandbox, None, limit="1001").status == 400


@pytest.mark.parametrize(
    "query",
    [
        "unique_args['campaign']=\"7\"",  # another argument: the sandbox does not record it
        'subject="About"',
        'msg_id="a" AND to_email="b" OR to_email="c"',
        'to_email="a" to_email="b"',
        "to_email=a",
    ],
)
def test_a_query_the_sandbox_cannot_answer_truly_is_refused(sandbox: RunningSandbox, query: str) -> None:
    reply = activity(sandbox, query)
    assert reply.status == 400
    assert reply.json()["errors"][0]["field"] == "query"
    with pytest.raises(QueryError):
        parse_query(query)


def test_email_activity_needs_the_key_and_the_add_on(sandbox: RunningSandbox) -> None:
    assert activity(sandbox, None, key="SG.wrong").status == 401
    sandbox.configure({"lookups": {"email_activity": False}})
    refused = activity(sandbox, None)
    assert refused.status == 403
    assert refused.json()["errors"][0]["message"]


def test_searches_can_be_made_to_fail_next(sandbox: RunningSandbox) -> None:
    sandbox.configure({"lookups": {"fail_next": [429, 503]}})
    assert activity(sandbox, None).status == 429
    assert list_sms(sandbox).status == 503
    assert activity(sandbox, None).status == 200
    assert sandbox.configure({"lookups": {"fail_next": []}})["lookups"] == {"email_activity": True, "fail_next": []}


def create(sandbox: RunningSandbox, to: str, body: str) -> str:
    reply = sandbox.create_sms({"To": to, "From": "+15005550006", "Body": body})
    assert reply.status == 201, reply.body
    return str(reply.json()["sid"])


def list_sms(sandbox: RunningSandbox, path: str = "", *, token: str = AUTH_TOKEN, **params: str) -> Reply:
    auth = base64.b64encode(f"{ACCOUNT_SID}:{token}".encode()).decode()
    url = sandbox.url + (path or f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?{urllib.parse.urlencode(params)}")
    return request(url, headers={"Authorization": f"Basic {auth}"})


def test_the_message_list_filters_by_number_newest_first(sandbox: RunningSandbox) -> None:
    first = create(sandbox, "+46701234567", "one")
    create(sandbox, "+46709999999", "other")
    last = create(sandbox, "+46701234567", "two")

    reply = list_sms(sandbox, To="+46701234567")

    assert reply.status == 200
    page = reply.json()
    assert [m["sid"] for m in page["messages"]] == [last, first]
    assert [m["body"] for m in page["messages"]] == ["two", "one"]
    assert page["messages"][0]["date_sent"] == page["messages"][0]["date_created"]
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 50, 0, 1)
    assert page["next_page_uri"] is None


def test_the_message_list_pages_through_next_page_uri(sandbox: RunningSandbox) -> None:
    sids = [create(sandbox, "+46701234567", f"text {i}") for i in range(5)]
    seen: list[str] = []
    reply = list_sms(sandbox, To="+46701234567", PageSize="2")
    while True:
        page: dict[str, Any] = reply.json()
        seen += [m["sid"] for m in page["messages"]]
        if not page["next_page_uri"]:
            break
        assert "To=%2B46701234567" in page["next_page_uri"]
        reply = list_sms(sandbox, page["next_page_uri"])
    assert seen == sids[::-1]


def test_the_message_list_filters_by_gmt_send_date(sandbox: RunningSandbox) -> None:
    create(sandbox, "+46701234567", "today")
    today = datetime.now(UTC).date()
    tomorrow, yesterday = (today + timedelta(days=1)).isoformat(), (today - timedelta(days=1)).isoformat()
    assert len(list_sms(sandbox, DateSent=today.isoformat()).json()["messages"]) == 1
    assert len(list_sms(sandbox, **{"DateSent>": yesterday, "DateSent<": today.isoformat()}).json()["messages"]) == 1
    assert list_sms(sandbox, **{"DateSent>": tomorrow}).json()["messages"] == []
    assert list_sms(sandbox, **{"DateSent<": yesterday}).json()["messages"] == []
    assert list_sms(sandbox, **{"DateSent>": f"{tomorrow}T00:00:00Z"}).json()["messages"] == []


def test_the_message_list_refuses_bad_credentials_and_parameters(sandbox: RunningSandbox) -> None:
    assert list_sms(sandbox, token="wrong").status == 401
    assert list_sms(sandbox, PageSize="0").status == 400
    assert list_sms(sandbox, PageSize="1001").status == 400
    assert list_sms(sandbox, DateSent="21/11/2026").status == 400
    assert list_sms(sandbox, Page="3").status == 400  # a later page only through its token
