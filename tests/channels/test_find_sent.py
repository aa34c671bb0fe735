"""``find_sent`` of the real transports: SendGrid's Email Activity API and Twilio's message list, through the SDKs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from breachcomms.channels.base import ChannelError, EmailBatch, EmailRecipient, SentQuery, SmsMessage
from breachcomms.channels.sendgrid import ACTIVITY_IDS_PER_SEARCH, SendGridTransport
from breachcomms.channels.twilio import TwilioTransport
from tests.channels.test_twilio import transport_for as twilio_for
from tests.sandbox.fixtures import API_KEY, RunningSandbox

SINCE = datetime.now(UTC) - timedelta(minutes=1)


def sendgrid_for(sandbox: RunningSandbox) -> SendGridTransport:
    return SendGridTransport(api_key=API_KEY, host=sandbox.url, timeout=5)


def email_batch(*recipients: tuple[str, str]) -> EmailBatch:
    return EmailBatch(
        from_email="security@example.com",
        from_name="Example Shop",
        subject="About your account",
        html="",
        text="Your reference: -code-",
        recipients=[EmailRecipient(d, address, "", {"-code-": "K7QX"}) for d, address in recipients],
    )


def query(delivery_id: str, to: str, marker: str = "") -> SentQuery:
    return SentQuery(delivery_id, to, SINCE, marker)


def test_sendgrid_finds_the_accepted_deliveries_and_only_those(sandbox: RunningSandbox) -> None:
    transport = sendgrid_for(sandbox)
    [receipt, _] = transport.send_batch(email_batch(("11", "ann@example.org"), ("12", "bo@example.org")))

    found = transport.find_sent(
        [query("11", "Ann@Example.org"), query("12", "bo@example.org"), query("13", "cy@x.org")]
    )

    assert found == {"11": receipt.provider_message_id, "12": receipt.provider_message_id}


def test_sendgrid_searches_in_chunks_and_never_names_one_address_twice_in_a_search(sandbox: RunningSandbox) -> None:
    transport = sendgrid_for(sandbox)
    count = ACTIVITY_IDS_PER_SEARCH + 5
    transport.send_batch(email_batch(*((str(100 + n), f"c{n}@example.org") for n in range(count))))
    # Another campaign's delivery to the first address, accepted too: both must be told apart.
    transport.send_batch(email_batch(("999", "c0@example.org")))
    wanted = [query(str(100 + n), f"c{n}@example.org") for n in range(count)] + [query("999", "c0@example.org")]

    found = transport.find_sent(wanted)

    assert set(found) == {q.delivery_id for q in wanted}
    assert sandbox.stats()["counters"]["email_activity_200"] == 2  # 50, then 5 and the other c0


def test_sendgrid_without_the_email_activity_add_on_cannot_answer(sandbox: RunningSandbox) -> None:
    sandbox.configure({"lookups": {"email_activity": False}})
    with pytest.raises(ChannelError) as caught:
        sendgrid_for(sandbox).find_sent([query("11", "ann@example.org")])
    assert caught.value.status == 403


@pytest.mark.parametrize("status", [429, 500])
def test_sendgrid_search_errors_are_raised_not_read_as_not_found(sandbox: RunningSandbox, status: int) -> None:
    sandbox.configure({"lookups": {"fail_next": [status]}})
    with pytest.raises(ChannelError):
        sendgrid_for(sandbox).find_sent([query("11", "ann@example.org")])


def test_sendgrid_never_puts_anything_but_a_delivery_id_into_a_query(sandbox: RunningSandbox) -> None:
    with pytest.raises(ChannelError):
        sendgrid_for(sandbox).find_sent([query('1") OR (to_email="x', "ann@example.org")])


def test_twilio_finds_a_text_by_number_and_reference_code(sandbox: RunningSandbox) -> None:
    transport = twilio_for(sandbox)
    receipt = transport.send(SmsMessage("21", "+46701234567", "Example Shop: your code K7QX-M4PD-9TZA"))
    transport.send(SmsMessage("22", "+46701234567", "Example Shop: your code AAAA-BBBB-CCCC"))

    found = transport.find_sent(
        [
            query("21", "+46701234567", "K7QX-M4PD-9TZA"),
            query("23", "+46701234567", "ZZZZ-ZZZZ-ZZZZ"),  # never sent
            query("24", "+46709999999", "K7QX-M4PD-9TZA"),  # the code went to another number
        ]
    )

    assert found == {"21": receipt.provider_message_id}


def test_twilio_pages_back_through_many_texts_to_one_number(sandbox: RunningSandbox) -> None:
    transport = twilio_for(sandbox)
    first = transport.send(SmsMessage("31", "+46701234567", "code FIRS-TONE-XXXX"))
    for n in range(150):
        transport.send(SmsMessage(str(40 + n), "+46701234567", f"later text {n}"))

    assert transport.find_sent([query("31", "+46701234567", "FIRS-TONE-XXXX")]) == {"31": first.provider_message_id}
    assert sandbox.stats()["counters"]["twilio_list_200"] == 2  # 100 a page, newest first


def test_twilio_stops_at_a_page_of_texts_older_than_the_delivery(sandbox: RunningSandbox) -> None:
    transport = twilio_for(sandbox)
    for n in range(150):
        transport.send(SmsMessage(str(40 + n), "+46701234567", f"earlier text {n}"))
    later = SentQuery("51", "+46701234567", datetime.now(UTC) + timedelta(hours=1), "NEWT-EXTX-XXXX")

    assert transport.find_sent([later]) == {}
    assert sandbox.stats()["counters"]["twilio_list_200"] == 1


def test_twilio_search_errors_are_raised_not_read_as_not_found(sandbox: RunningSandbox) -> None:
    sandbox.configure({"lookups": {"fail_next": [503]}})
    with pytest.raises(ChannelError):
        twilio_for(sandbox).find_sent([query("21", "+46701234567", "K7QX-M4PD-9TZA")])
    with pytest.raises(ChannelError):
        twilio_for(sandbox, auth_token="wrong").find_sent([query("21", "+46701234567", "K7QX-M4PD-9TZA")])


def test_twilio_cannot_search_without_a_reference_code(sandbox: RunningSandbox) -> None:
    with pytest.raises(ChannelError):
        TwilioTransport.find_sent(twilio_for(sandbox), [query("21", "+46701234567", "")])
