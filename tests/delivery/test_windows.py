"""The sending window in each customer's local time."""

from __future__ import annotations

from datetime import UTC, datetime, time

from breachcomms.delivery.windows import Window

DAYTIME = Window(time(8, 0), time(21, 0))


def test_jakarta_and_los_angeles_open_at_their_own_eight_o_clock() -> None:
    now = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, 20:00 the day before in Los Angeles
    assert DAYTIME.is_open("Asia/Jakarta", now)
    assert DAYTIME.is_open("America/Los_Angeles", now)
    late = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Jakarta, 22:00 in Los Angeles
    assert DAYTIME.next_opening("Asia/Jakarta", late) == late
    # 08:00 PDT (daylight saving began on 9 March) is 15:00 UTC.
    assert DAYTIME.next_opening("America/Los_Angeles", late) == datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


def test_after_closing_the_window_opens_the_next_morning() -> None:
    evening = datetime(2025, 6, 1, 14, 30, tzinfo=UTC)  # 21:30 in Jakarta
    assert not DAYTIME.is_open("Asia/Jakarta", evening)
    assert DAYTIME.next_opening("Asia/Jakarta", evening) == datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
    assert DAYTIME.next_closing("Asia/Jakarta", datetime(2025, 6, 2, 2, 0, tzinfo=UTC)) == datetime(
        2025, 6, 2, 14, 0, tzinfo=UTC
    )


def test_a_window_over_midnight_and_a_window_without_quiet_hours() -> None:
    night = Window(time(20, 0), time(2, 0))
    assert night.contains(time(23, 0))
    assert night.contains(time(1, 59))
    assert not night.contains(time(2, 0))
    assert not night.contains(time(12, 0))
    always = Window(time(0, 0), time(0, 0))
    assert always.is_open("Asia/Jakarta", datetime(2025, 1, 1, 18, 0, tzinfo=UTC))


def test_open_intervals_cover_exactly_the_local_daytime() -> None:
    start = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    end = datetime(2025, 6, 3, 0, 0, tzinfo=UTC)
    intervals = DAYTIME.open_intervals("Europe/Stockholm", start, end)  # UTC+2 in June
    assert intervals == [
        (datetime(2025, 6, 1, 6, 0, tzinfo=UTC), datetime(2025, 6, 1, 19, 0, tzinfo=UTC)),
        (datetime(2025, 6, 2, 6, 0, tzinfo=UTC), datetime(2025, 6, 2, 19, 0, tzinfo=UTC)),
    ]
