"""The development and test transports, the settings registry, substitutions and SMS segments."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from breachcomms.channels import locmem, registry
from breachcomms.channels.base import PermanentError, SmsMessage, TransientError
from breachcomms.channels.console import ConsoleEmailTransport, ConsoleSmsTransport
from breachcomms.channels.file import FileEmailTransport, FileSmsTransport
from breachcomms.channels.segments import sms_segments
from breachcomms.channels.sendgrid import SendGridTransport
from breachcomms.channels.substitutions import apply_substitutions
from breachcomms.channels.twilio import TwilioTransport
from tests.channels.test_sendgrid import batch


@pytest.fixture(autouse=True)
def empty_outbox() -> None:
    locmem.outbox.clear()


def test_locmem_keeps_what_was_sent_and_gives_receipts() -> None:
    receipts = locmem.LocmemEmailTransport().send_batch(batch(3))
    sms = locmem.LocmemSmsTransport().send(SmsMessage("s-1", "+46701234567", "Hej"))

    assert [r.delivery_id for r in receipts] == ["delivery-0", "delivery-1", "delivery-2"]
    assert locmem.outbox.email_recipients() == ["delivery-0", "delivery-1", "delivery-2"]
    assert locmem.outbox.sms == [SmsMessage("s-1", "+46701234567", "Hej")]
    assert sms.provider_message_id.startswith("locmem-")


def test_locmem_raises_the_failures_queued_for_it_then_sends() -> None:
    transport = locmem.LocmemEmailTransport()
    locmem.outbox.fail_next_email(TransientError("storm", status=429, retry_after=2), times=2)

    for _ in range(2):
        with pytest.raises(TransientError):
            transport.send_batch(batch(1))
    transport.send_batch(batch(1))

    assert locmem.outbox.email_recipients() == ["delivery-0"]


def test_locmem_refuses_more_than_a_thousand_recipients() -> None:
    with pytest.raises(PermanentError):
        locmem.LocmemEmailTransport().send_batch(batch(1001))
    assert locmem.outbox.emails == []


def test_the_file_transport_writes_each_recipients_final_email_as_a_json_line(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    FileEmailTransport().send_batch(batch(2))
    FileSmsTransport().send(SmsMessage("s-1", "+46701234567", "Hej då"))

    emails = [json.loads(line) for line in (tmp_path / "outbox" / "email.jsonl").read_text().splitlines()]
    [sms] = [json.loads(line) for line in (tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()]
    assert [e["delivery_id"] for e in emails] == ["delivery-0", "delivery-1"]
    assert emails[1]["subject"] == "Kund 1 Åström, about your Example Shop account"
    assert "K7QX-0001" in emails[1]["text"]
    assert "-code-" not in emails[1]["html"]
    assert emails[0]["message_id"] == emails[1]["message_id"]
    assert (sms["delivery_id"], sms["to"], sms["body"]) == ("s-1", "+46701234567", "Hej då")


def test_the_console_transport_prints_the_final_text() -> None:
    out = io.StringIO()
    ConsoleEmailTransport(stream=out).send_batch(batch(1))
    ConsoleSmsTransport(stream=out).send(SmsMessage("s-1", "+46701234567", "Hej"))

    printed = out.getvalue()
    assert "To: Customer 0 <customer0@example.com>" in printed
    assert "Subject: Kund 0 Åström, about your Example Shop account" in printed
    assert "Your reference: K7QX-0000." in printed
    assert "SMS to +46701234567 (delivery s-1" in printed


def test_the_registry_builds_the_transports_named_in_settings(settings: Any) -> None:
    settings.BREACHCOMMS_EMAIL_TRANSPORT = "breachcomms.channels.locmem.LocmemEmailTransport"
    settings.BREACHCOMMS_SMS_TRANSPORT = "breachcomms.channels.locmem.LocmemSmsTransport"

    assert isinstance(registry.email_transport(), locmem.LocmemEmailTransport)
    assert registry.email_transport() is registry.email_transport()  # kept: SDK clients keep their connections
    assert isinstance(registry.sms_transport(), locmem.LocmemSmsTransport)

    settings.BREACHCOMMS_EMAIL_TRANSPORT = "breachcomms.channels.sendgrid.SendGridTransport"
    settings.SENDGRID_API_HOST = "http://127.0.0.1:9"
    transport = registry.email_transport()
    assert isinstance(transport, SendGridTransport)
    assert transport.client.host == "http://127.0.0.1:9"


def test_the_default_transports_point_the_sdks_at_the_sandbox(settings: Any) -> None:
    settings.BREACHCOMMS_EMAIL_TRANSPORT = "breachcomms.channels.sendgrid.SendGridTransport"
    settings.BREACHCOMMS_SMS_TRANSPORT = "breachcomms.channels.twilio.TwilioTransport"

    email, sms = registry.email_transport(), registry.sms_transport()

    assert isinstance(email, SendGridTransport)
    assert email.client.host == f"http://127.0.0.1:{settings.BREACHCOMMS_SANDBOX_PORT}"
    assert isinstance(sms, TwilioTransport)
    assert sms.client.api.base_url == f"http://127.0.0.1:{settings.BREACHCOMMS_SANDBOX_PORT}"
    assert sms.callback_url == settings.BREACHCOMMS_PUBLIC_BASE_URL + "/webhooks/twilio/status/"


def test_substitutions_replace_every_tag_once_longest_first() -> None:
    values = {"-name-": "Ann -code-", "-name-full-": "Ann Berg", "-code-": "K7QX"}

    text = apply_substitutions("-name-full- / -name- / -code- / -unknown-", values)

    assert text == "Ann Berg / Ann -code- / K7QX / -unknown-"


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("Hej på dig, Åsa", 1),  # Swedish letters are in GSM-7
        ("Привет" * 11 + "П" * 4, 1),  # Cyrillic: UCS-2, 70 per segment
        ("Привет" * 12, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments_follow_gsm7_and_ucs2_limits(text: str, segments: int) -> None:
    assert sms_segments(text) == segments
