"""Synthetic affected-customer files for the demo, tests and benchmarks.

The rows look like a real export from a company operating in Sweden, the UK, the US, Russia and
Indonesia: native names, emails made from transliterated names, phones in the formats people type,
loosely spelled countries and locales, a share of repeated people and a share of broken contacts.
The same seed gives the same file.

A million rows take seconds, not the hour Faker would need at tens of microseconds per call:
Faker only fills name pools once, everything that does not depend on the person is pre-drawn in
combinations, and each row takes its choices from the bits of three random integers. Nothing
grows with the row count: phone numbers and account ids come from a permutation of the row
number (so two people never share one), used emails are remembered in a fixed-size bitmap.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import random
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TextIO, TypeVar
from zlib import crc32

from faker import Faker

HEADER = ("customer_id", "name", "email", "phone", "country", "state", "locale", "time_zone", "accounts", "exposures")
Progress = Callable[[int, int | None, str], None]
Row = tuple[str, str, str, str, str, str, str, str, str, str]
PROGRESS_EVERY = 10_000
_T = TypeVar("_T")
POOL_SIZE = 4096  # names per list: 12 random bits pick one

_CYRILLIC = dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)) | {
    "ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ь": "", "ю": "yu", "я": "ya",
}  # fmt: skip

# US area codes (all valid per libphonenumber) and the state each serves.
_US_AREAS = {
    "201": "NJ", "202": "DC", "203": "CT", "205": "AL", "206": "WA", "212": "NY", "213": "CA", "214": "TX",
    "215": "PA", "216": "OH", "303": "CO", "305": "FL", "310": "CA", "312": "IL", "313": "MI", "314": "MO",
    "317": "IN", "404": "GA", "407": "FL", "408": "CA", "410": "MD", "412": "PA", "414": "WI", "415": "CA",
    "469": "TX", "480": "AZ", "503": "OR", "504": "LA", "512": "TX", "602": "AZ", "612": "MN", "614": "OH",
    "615": "TN", "617": "MA", "619": "CA", "646": "NY", "650": "CA", "678": "GA", "702": "NV", "704": "NC",
    "713": "TX", "718": "NY", "720": "CO", "757": "VA", "773": "IL", "786": "FL", "801": "UT", "808": "HI",
    "813": "FL", "832": "TX", "907": "AK", "917": "NY", "919": "NC", "949": "CA", "954": "FL", "972": "TX",
}  # fmt: skip
_US_ZONES = {
    "CA": "America/Los_Angeles", "WA": "America/Los_Angeles", "OR": "America/Los_Angeles", "NV": "America/Los_Angeles",
    "TX": "America/Chicago", "IL": "America/Chicago", "MN": "America/Chicago", "MO": "America/Chicago",
    "WI": "America/Chicago", "LA": "America/Chicago", "TN": "America/Chicago", "AL": "America/Chicago",
    "CO": "America/Denver", "UT": "America/Denver", "AZ": "America/Phoenix", "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
}  # fmt: skip
_RU_MOBILE = [str(p) for p in range(900, 1000) if p not in (930, 940, 942, 943, 944, 945, 946, 947, 948, 949, 970)]
_ID_MOBILE = "811 812 813 821 822 823 852 853 814 815 816 855 856 857 858 817 818 819 859 877 878 895 896 897 898 899"


@dataclass(frozen=True)
class _Plan:
    """A block of valid numbers: national significant number = prefix + ``free`` random digits."""

    prefix: str
    free: int
    area: int  # digits of the number written as its area/operator code
    state: str = ""


PhoneStyle = Callable[[str, str], str]  # (area code, rest of the digits) → the number as written


@dataclass(frozen=True)
class _Market:
    country: str
    faker_locale: str
    weight: int
    code: str  # E.164 country code
    plans: tuple[_Plan, ...]
    styles: tuple[PhoneStyle, ...]  # repeated by frequency
    labels: tuple[str, ...]  # how the country column spells it, repeated by frequency
    locales: tuple[str, ...]
    zones: tuple[str, ...]
    domains: tuple[str, ...]
    national_id: str  # the local word for the national identity number


def _plans(prefixes: list[str], free: int, area: int) -> list[_Plan]:
    return [_Plan(p, free, area) for p in prefixes]


# The ways people write numbers, as f-strings (str.format would double the cost of a row's phone).
def _se(r: str) -> str:
    return f"{r[:-4]} {r[-4:-2]} {r[-2:]}"  # 123 45 67


def _gb(r: str) -> str:
    return f"{r[:-4]} {r[-4:]}" if len(r) == 7 else r  # 496 0123 / 456789


def _ru(r: str) -> str:
    return f"{r[:3]}-{r[3:5]}-{r[5:]}"  # 345-67-89


def _id(r: str) -> str:
    return f"{r[:4]}-{r[4:]}"  # 3456-7890


_SE_STYLES: tuple[PhoneStyle, ...] = (
    lambda a, r: f"+46{a}{r}",
    lambda a, r: f"0{a}-{_se(r)}",
    lambda a, r: f"0{a} {_se(r)}",
    lambda a, r: f"0{a}{r}",
    lambda a, r: f"+46 {a} {_se(r)}",
)
_GB_STYLES: tuple[PhoneStyle, ...] = (
    lambda a, r: f"+44{a}{r}",
    lambda a, r: f"0{a} {_gb(r)}",
    lambda a, r: f"0{a}{r}",
    lambda a, r: f"+44 {a} {_gb(r)}",
    lambda a, r: f"+44 (0){a} {_gb(r)}",
)
_US_STYLES: tuple[PhoneStyle, ...] = (
    lambda a, r: f"({a}) {r[:3]}-{r[3:]}",
    lambda a, r: f"{a}-{r[:3]}-{r[3:]}",
    lambda a, r: f"+1{a}{r}",
    lambda a, r: f"{a}.{r[:3]}.{r[3:]}",
    lambda a, r: f"+1 {a}-{r[:3]}-{r[3:]}",
    lambda a, r: f"1-{a}-{r[:3]}-{r[3:]}",
    lambda a, r: f"{a}{r}",
)
_RU_STYLES: tuple[PhoneStyle, ...] = (
    lambda a, r: f"+7{a}{r}",
    lambda a, r: f"8 {a} {_ru(r)}",
    lambda a, r: f"+7 {a} {_ru(r)}",
    lambda a, r: f"8({a}){_ru(r)}",
    lambda a, r: f"+7 ({a}) {_ru(r)}",
    lambda a, r: f"8{a}{r}",
)
_ID_STYLES: tuple[PhoneStyle, ...] = (
    lambda a, r: f"0{a}-{_id(r)}",
    lambda a, r: f"0{a}{r}",
    lambda a, r: f"+62{a}{r}",
    lambda a, r: f"+62 {a}-{_id(r)}",
    lambda a, r: f"0{a} {r[:4]} {r[4:]}",
    lambda a, r: f"62{a}{r}",
)


def _weighted(styles: tuple[PhoneStyle, ...], weights: tuple[int, ...]) -> tuple[PhoneStyle, ...]:
    return tuple(style for style, weight in zip(styles, weights, strict=True) for _ in range(weight))


# fmt: off
_MARKETS: tuple[_Market, ...] = (
    _Market(
        "SE", "sv_SE", 20, "46",
        (*_plans(["70", "72", "73", "76", "79"], 7, 2), *_plans([f"8{d}" for d in "123456789"], 6, 1)),
        _weighted(_SE_STYLES, (2, 3, 1, 1, 1)),
        ("SE",) * 16 + ("Sweden", "sweden", "SWE", "se"),
        ("",) * 9 + ("sv",) * 3 + ("sv-SE", "sv_SE", "sv_SE", "SV-se", "en", "en-GB"),
        ("",) * 30 + ("Europe/Stockholm",),
        ("gmail.com",) * 4 + ("telia.com",) * 3 + ("hotmail.com", "hotmail.se", "outlook.com", "live.se")
        + ("yahoo.se", "icloud.com", "bredband.net", "spray.se", "comhem.se"),
        "personnummer",
    ),
    _Market(
        "GB", "en_GB", 20, "44",
        (
            *_plans(["71", "73", "74"], 8, 4),
            *_plans([f"{a}{d}" for a in ("161", "131", "141", "151") for d in "2345678"], 6, 3),
        ),
        _weighted(_GB_STYLES, (2, 3, 1, 1, 1)),
        ("GB",) * 12 + ("UK",) * 4 + ("United Kingdom", "GBR", "gb"),
        ("",) * 9 + ("en",) * 2 + ("en-GB", "en_GB", "en_GB", "EN-gb", "en-gb"),
        ("",) * 40 + ("Europe/London",),
        ("gmail.com",) * 4 + ("hotmail.co.uk",) * 2 + ("outlook.com", "yahoo.co.uk", "btinternet.com", "sky.com")
        + ("icloud.com", "live.co.uk", "virginmedia.com", "aol.co.uk"),
        "passport",
    ),
    _Market(
        "US", "en_US", 30, "1",
        tuple(_Plan(a + d, 6, 3, state) for a, state in _US_AREAS.items() for d in "23456789"),
        _weighted(_US_STYLES, (3, 2, 1, 1, 1, 1, 1)),
        ("US",) * 14 + ("USA",) * 3 + ("United States", "us"),
        ("",) * 9 + ("en",) * 2 + ("en-US", "en_US", "en_us", "EN-US", "es-US"),
        ("",) * 16 + ("by-state",),  # replaced by the zone of the row's state
        ("gmail.com",) * 5 + ("yahoo.com",) * 2 + ("outlook.com", "hotmail.com", "aol.com", "icloud.com")
        + ("comcast.net", "msn.com", "att.net", "verizon.net"),
        "ssn",
    ),
    _Market(
        "RU", "ru_RU", 15, "7",
        tuple(_plans(_RU_MOBILE, 7, 3)),
        _weighted(_RU_STYLES, (2, 2, 1, 1, 1, 1)),
        ("RU",) * 14 + ("Russia", "RUS", "ru"),
        ("",) * 9 + ("ru",) * 3 + ("ru-RU", "ru_RU", "RU", "RU_ru"),
        ("",) * 8 + ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"),
        ("yandex.ru",) * 4 + ("mail.ru",) * 4 + ("gmail.com",) * 2 + ("rambler.ru", "bk.ru", "list.ru", "inbox.ru")
        + ("ya.ru", "outlook.com"),
        "snils",
    ),
    _Market(
        "ID", "id_ID", 15, "62",
        (*_plans(_ID_MOBILE.split(), 8, 3), *_plans(_ID_MOBILE.split()[:8], 9, 3)),
        _weighted(_ID_STYLES, (3, 2, 1, 1, 1, 1)),
        ("ID",) * 14 + ("Indonesia", "IDN", "indonesia"),
        ("",) * 9 + ("id",) * 3 + ("id-ID", "id_ID", "ID", "in"),
        ("",) * 8 + ("Asia/Jakarta", "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"),
        ("gmail.com",) * 6 + ("yahoo.co.id",) * 3 + ("yahoo.com", "ymail.com", "outlook.com", "hotmail.com"),
        "nik",
    ),
)
# fmt: on

# Exposed categories by the tier they reach, each with the spellings exports use for it.
_LOW = (
    ("name", "name", "full_name"),
    ("email", "email", "e-mail"),
    ("username", "login"),
    ("ip_address", "IP"),
    ("purchase history", "orders"),
)
_MEDIUM = (
    ("phone", "phone_number"),
    ("address", "home_address", "Postal address"),
    ("dob", "date_of_birth", "Date of birth"),
    ("location",),
    ("security questions",),
)
_PASSWORD, _CARD, _BANK = ("password", "password_hash"), ("credit card", "payment_card", "card_number"), ("iban",)
_HIGH = (_PASSWORD, _PASSWORD, _CARD, _CARD, _BANK, ("bank_account",), ("health",), ("biometric",))  # repeats: weights
_PROFILES = ((_LOW, 30), (_MEDIUM, 40), (_HIGH, 30))  # the tier a row's worst category reaches, in percent


def _ascii(text: str) -> str:
    """Lower-case ASCII letters of a name, as people write it in an email address."""
    lower = "".join(_CYRILLIC.get(ch, ch) for ch in text.lower()).replace("-", "")
    plain = unicodedata.normalize("NFKD", lower).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalnum())


@dataclass(frozen=True)
class _Names:
    """(native, ascii) name pools by gender: first names, last names, patronymics."""

    first: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
    last: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
    middle: tuple[tuple[str, ...], tuple[str, ...]]


def _draw(fake: Faker, *attributes: str) -> tuple[str, ...]:
    """POOL_SIZE names from the first of the locale's name lists that exists, weighted like Faker's own.

    One ``random_elements`` call per pool instead of one Faker call per name: that is what makes the
    set-up take milliseconds instead of a second.
    """
    provider = fake.provider("faker.providers.person")
    for attribute in attributes:
        elements = getattr(provider, attribute, None)
        if elements:
            return tuple(fake.random_elements(elements, length=POOL_SIZE, use_weighting=True))
    return ()


def _with_ascii(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = [(name, plain) for name, plain in ((name, _ascii(name)) for name in names) if plain]
    return _resized(pairs, POOL_SIZE)


def _resized(items: list[_T] | tuple[_T, ...], size: int) -> tuple[_T, ...]:
    """``items`` stretched or shrunk to ``size`` entries, keeping their proportions."""
    return tuple(items[i * len(items) // size] for i in range(size)) if items else ()


@lru_cache(maxsize=8)
def _names(faker_locale: str, seed: int) -> _Names:
    fake = Faker(faker_locale)
    fake.seed_instance(seed)
    return _Names(
        first=(
            _with_ascii(_draw(fake, "first_names_male", "first_names")),
            _with_ascii(_draw(fake, "first_names_female", "first_names")),
        ),
        last=(
            _with_ascii(_draw(fake, "last_names_male", "last_names")),
            _with_ascii(_draw(fake, "last_names_female", "last_names")),
        ),
        middle=(_draw(fake, "middle_names_male"), _draw(fake, "middle_names_female")),
    )


def _exposures(rng: random.Random, national_id: str) -> str:
    """One row's exposed categories (1–5, spelled as exports spell them), joined by "|"."""
    tier = rng.choices(range(3), weights=[w for _, w in _PROFILES])[0]
    picks = [rng.choice(_LOW[0])]
    if rng.random() < 0.6:
        picks.append(rng.choice(_LOW[1]))
    if rng.random() < 0.3:
        picks.append(rng.choice(rng.choice(_LOW[2:])))
    if tier >= 1:
        picks.extend(rng.choice(spellings) for spellings in rng.sample(_MEDIUM, rng.randint(1, 2)))
    if tier == 2:
        spellings = rng.choice((*_HIGH, (national_id, national_id, "national_id")))
        picks.append(rng.choice(spellings))
    return "|".join(picks[-5:])


# Per row: country as written, locale, time zone, exposures, phone style, number of accounts.
_Extras = tuple[str, str, str, str, PhoneStyle, int]
_EXTRAS = 4096  # 12 random bits pick one


def _extras(market: _Market, rng: random.Random) -> tuple[_Extras, ...]:
    """Pre-drawn combinations of the values that do not depend on the person; one is drawn per row.

    One draw instead of six is a large part of the speed; with 4,096 per market no pattern shows.
    """
    return tuple(
        (
            "" if rng.random() < 0.01 else rng.choice(market.labels),  # some exports leave the country out
            rng.choice(market.locales),
            rng.choice(market.zones),
            _exposures(rng, market.national_id),
            rng.choice(market.styles),
            rng.choices((1, 2, 3), weights=(70, 22, 8))[0],
        )
        for _ in range(_EXTRAS)
    )


def _permutation(size: int, rng: random.Random) -> tuple[int, int, int]:
    """(step, offset, size): ``(k * step + offset) % size`` maps 0..size-1 onto itself, looking random.

    Distinct rows thus never share a phone number or an account id, with no memory of the past.
    """
    step = int(size * 0.6180339887) | 1
    while math.gcd(step, size) != 1:
        step += 2
    return step, rng.randrange(size), size


class _MarketState:
    """A market's pools during one run, flattened for the per-row hot path."""

    __slots__ = (
        "country", "code", "distinct_styles", "domains", "extras", "firsts", "lasts", "middles", "special", "plans",
        "starts", "numbers",
    )  # fmt: skip

    def __init__(self, market: _Market, seed: int, rng: random.Random) -> None:
        self.country, self.code = market.country, market.code
        self.distinct_styles = tuple(dict.fromkeys(market.styles))
        self.domains = _resized(market.domains, 16)
        names = _names(market.faker_locale, seed)
        self.firsts, self.lasts, self.middles = names.first, names.last, names.middle
        # Out of 256: names written otherwise than "first last" (see _Generator.special_name).
        self.special = {"RU": 115, "ID": 26}.get(market.country, 0)
        self.extras = _extras(market, rng)
        self.plans = tuple((plan.prefix, plan.free, plan.area, plan.state) for plan in market.plans)
        sizes = [10**plan.free for plan in market.plans]
        self.starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self.numbers = _permutation(sum(sizes), rng)


# The part before the @, in the styles people choose: (ASCII first name, surname, a number).
_LocalPart = Callable[[str, str, int], str]
_LOCAL_PARTS: tuple[_LocalPart, ...] = _resized(
    (
        *[lambda f, s, n: f"{f}.{s}"] * 4,
        lambda f, s, n: f"{f}{s}",
        lambda f, s, n: f"{f}{s}",
        lambda f, s, n: f"{f[0]}.{s}",
        lambda f, s, n: f"{f}.{s}{n % 99 + 1}",
        lambda f, s, n: f"{f}.{s}{n % 99 + 1}",
        lambda f, s, n: f"{f}{s}{1950 + n % 55}",
        lambda f, s, n: f"{f}{s}{1950 + n % 55}",
        lambda f, s, n: f"{s}.{f}",
        lambda f, s, n: f"{f}_{s}",
        lambda f, s, n: f"{s}{f[0]}{100 + n % 900}",
        lambda f, s, n: f"{f}.{s}.{n % 10}",
        lambda f, s, n: f"{f[0]}{s}",
    ),
    16,
)

# A person as first written: market, name, ASCII first and last name, email, phone area and rest
# digits, phone as written (empty without one), its style, US state, accounts. A plain tuple: one
# is made per row, and a dataclass would cost a tenth of the row's time.
_Person = tuple[_MarketState, str, str, str, str, str, str, str, PhoneStyle, str, str]
_RECENT = 4096  # people a duplicate may repeat: bounded, so memory stays constant


class _Generator:
    """Makes rows chunk by chunk.

    ``new_row`` is the hot path. It takes its choices from the bits of three random integers and
    reads through locals with few calls: on a small server every Python step costs tens of
    nanoseconds, and a row takes a couple of hundred of them.
    """

    def __init__(self, rows: int, seed: int, duplicate_rate: float, invalid_rate: float) -> None:
        self.rows = rows
        self.rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
        self.rand, self.bits = self.rng.random, self.rng.getrandbits
        # Out of 2**14: the kind of row (duplicate below the first, broken below the second).
        self.duplicate_cut = round(duplicate_rate * 16384)
        self.broken_cut = self.duplicate_cut + round(invalid_rate * 16384)
        states = [_MarketState(market, seed, self.rng) for market in _MARKETS]
        self.markets = _resized(
            [state for state, mk in zip(states, _MARKETS, strict=True) for _ in range(mk.weight)], 128
        )
        # Used addresses as a bitmap of CRC32s: constant memory, deterministic (unlike hash()),
        # and a rare false alarm only adds a digit to an address.
        size = 1 << max(16, min(28, (rows * 128).bit_length()))
        self.email_mask, self.email_bits = size - 1, bytearray(size // 8)
        self.accounts = _permutation(900_000_000, self.rng)
        self.recent: list[_Person] = []

    def chunk(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop - 1`` (call with consecutive ranges)."""
        bits, duplicate_cut, broken_cut = self.bits, self.duplicate_cut, self.broken_cut
        new_row, markets, recent = self.new_row, self.markets, self.recent
        rows: list[Row] = []
        append = rows.append
        for index in range(start, stop):
            a = bits(30)
            kind = a & 16383
            if kind >= broken_cut or (kind < duplicate_cut and not recent):
                append(new_row(index, markets[a >> 23], a, True))
            elif kind < duplicate_cut:
                append(self.duplicate_row(index))
            else:
                append(self.broken_row(index, markets[a >> 23], a))
        return rows

    def new_row(self, index: int, m: _MarketState, a: int, remember: bool) -> Row:
        """A new person's row; ``index`` (unique per row) picks their phone number and account ids.

        Bits of ``a``: 0-13 the row kind, 14 gender, 15-18 email style, 19-22 domain, 23-29 market.
        """
        b, c = self.bits(30), self.bits(30)
        gender = (a >> 14) & 1
        first, first_ascii = m.firsts[gender][b & 4095]
        last, last_ascii = m.lasts[gender][(b >> 12) & 4095]
        flags, extra = b >> 24, c & 4095  # flags: 0 no email, 1-2 no phone, 63 written in capitals
        if c >> 22 < m.special:
            name, last_ascii = self.special_name(m, c >> 22, gender, first, last, last_ascii)
        else:
            name = f"{first} {last}" if flags != 63 else f"{first} {last}".upper()  # legacy systems shout
        email = ""
        if flags:
            n = (c >> 12) & 1023
            local = _LOCAL_PARTS[(a >> 15) & 15](first_ascii, last_ascii, n) if last_ascii else f"{first_ascii}{n + 10}"
            email = f"{local}@{m.domains[(a >> 19) & 15]}"
            h = crc32(email.encode()) & self.email_mask
            seen, byte, bit = self.email_bits, h >> 3, 1 << (h & 7)
            if seen[byte] & bit:
                email = self.email(m, local)
            else:
                seen[byte] |= bit
        # The row index through a permutation of the market's number blocks: unique, random-looking.
        step, offset, size = m.numbers
        x = (index * step + offset) % size
        i = bisect_right(m.starts, x) - 1
        prefix, free, cut, state = m.plans[i]
        digits = prefix + str(x - m.starts[i]).zfill(free)
        area, rest = digits[:cut], digits[cut:]
        label, locale, zone, exposures, style, accounts = m.extras[extra]
        phone = style(area, rest) if flags > 2 or flags == 0 else ""
        if not label and phone:
            phone = f"+{m.code}{area}{rest}"  # without a country only this reads
        if zone == "by-state":
            zone = _US_ZONES.get(state, "America/New_York")
        # Account ids 100000000-999999999: always nine digits without the cost of zero-padding.
        step, offset, size = self.accounts
        country, n = m.country, 3 * index * step + offset
        ids = country + str(n % size + 100_000_000)
        if accounts > 1:
            ids += f"|{country}{(n + step) % size + 100_000_000}"
            if accounts > 2:
                ids += f"|{country}{(n + 2 * step) % size + 100_000_000}"
        if remember:
            person = (m, name, first_ascii, last_ascii, email, area, rest, phone, style, state, ids)
            if len(self.recent) < _RECENT:
                self.recent.append(person)
            else:
                self.recent[index % _RECENT] = person  # a ring: duplicates repeat someone recent
        return (f"CUST-{1_000_000 + index}", name, email, phone, label, state, locale, zone, ids, exposures)

    def special_name(
        self, m: _MarketState, r: int, gender: int, first: str, last: str, last_ascii: str
    ) -> tuple[str, str]:
        """(name, ASCII last name) for the Russian and Indonesian ways of writing names."""
        if m.country == "ID":
            return first, ""  # many Indonesians have a single name
        middles = m.middles[gender]
        middle = middles[int(self.rand() * len(middles))]
        # Russian records often keep the family-name-first "ФИО" order, with the patronymic.
        return (f"{last} {first} {middle}" if r < 77 else f"{first} {middle} {last}"), last_ascii

    def email(self, m: _MarketState, local: str, /) -> str:
        """An address no earlier person has: digits are added until it is new."""
        rand, domains, seen, mask = self.rand, m.domains, self.email_bits, self.email_mask
        domain = domains[int(rand() * len(domains))]
        while True:
            email = f"{local}@{domain}"
            h = crc32(email.encode()) & mask
            byte, bit = h >> 3, 1 << (h & 7)
            if not seen[byte] & bit:
                seen[byte] |= bit
                return email
            local += str(int(rand() * 10))

    def duplicate_row(self, index: int) -> Row:
        """The same person again, as another system recorded them."""
        rand = self.rand
        m, name, first, last, email, area, rest, phone, style, state, accounts = self.recent[
            int(rand() * len(self.recent))
        ]
        if rand() < 0.5:
            # Account numbers past 3 × rows are never given to new people.
            step, offset, size = self.accounts
            accounts = f"{m.country}{(3 * (self.rows + index) * step + offset) % size + 100_000_000}"
        if email and (not phone or rand() < 0.5):
            email = _recase(email, rand)
            phone = phone if rand() < 0.5 else ""
        else:
            others = [s for s in m.distinct_styles if s != style]
            phone = others[int(rand() * len(others))](area, rest)
            email = "" if rand() < 0.4 else self.email(m, f"{first}.{last}" if last else first)
        label, locale, zone, exposures, _, _ = m.extras[int(rand() * _EXTRAS)]
        if not label and phone:
            phone = f"+{m.code}{area}{rest}"
        if zone == "by-state":
            zone = _US_ZONES.get(state, "America/New_York")
        return (f"CUST-{1_000_000 + index}", name, email, phone, label, state, locale, zone, accounts, exposures)

    def broken_row(self, index: int, m: _MarketState, a: int) -> Row:
        """A new person whose email, phone or both are mistyped."""
        row = self.new_row(index, m, a, False)
        email, phone, r = row[2], row[3], self.rand()
        if r < 0.7 or not phone:
            email = _broken_email(email, self.rand)
        if r >= 0.35 or not email:
            phone = _broken_phone(phone, self.rand)
        return (*row[:2], email, phone, *row[4:])  # type: ignore[return-value]


def _recase(email: str, rand: Callable[[], float]) -> str:
    """The same address with other capitals (addresses compare case-insensitively)."""
    local, _, domain = email.partition("@")
    r = rand()
    if r < 0.3:
        return email.upper()
    if r < 0.7:
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    return f"{local}@{domain.capitalize()}"


def _broken_email(email: str, rand: Callable[[], float]) -> str:
    if not email:
        return "n/a"
    local, _, domain = email.partition("@")
    r = rand()
    if r < 0.25:
        return f"{local}@{domain.rsplit('.', 1)[0]}"  # no top-level domain
    if r < 0.45:
        return f"{local}.{domain}"  # no @
    if r < 0.6:
        return f"{local}.@{domain}"
    if r < 0.75:
        return f"{local}@{domain.replace('.', '..', 1)}"
    if r < 0.9:
        return f"{local} @{domain}"
    return ("n/a", "-", "none", "unknown")[int(rand() * 4)]


def _broken_phone(phone: str, rand: Callable[[], float]) -> str:
    if phone and rand() < 0.8:
        return phone[: max(4, len(phone) // 2)].rstrip(" -(")  # cut off while typing
    return ("0", "000", "123", "n/a", "tel")[int(rand() * 5)]


def customer_rows(
    rows: int, *, seed: int = 1, duplicate_rate: float = 0.01, invalid_rate: float = 0.005
) -> Iterator[Row]:
    """Synthetic customer rows in the order of ``HEADER``; accounts and exposures joined by "|"."""
    for chunk in _chunks(rows, seed, duplicate_rate, invalid_rate, None):
        yield from chunk


def _chunks(
    rows: int, seed: int, duplicate_rate: float, invalid_rate: float, progress: Progress | None
) -> Iterator[list[Row]]:
    generator = _Generator(rows, seed, duplicate_rate, invalid_rate)
    for start in range(0, rows, PROGRESS_EVERY):
        stop = min(start + PROGRESS_EVERY, rows)
        with _collector_paused():
            chunk = generator.chunk(start, stop)
        yield chunk
        if progress is not None:
            progress(stop, rows, "")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a chunk makes no cycles, only ~20,000 tuples that it
    would otherwise traverse again and again (6% of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _csv_text(rows: list[Row]) -> str:
    """CSV lines for rows, joined by hand (five times faster than csv.writer) where no value needs
    quoting, which one count over the whole chunk proves for the usual chunk."""
    text = "\n".join(map(",".join, rows)) + "\n"
    if text.count(",") == 9 * len(rows) and text.count("\n") == len(rows) and '"' not in text and "\r" not in text:
        return text
    return "".join(map(_csv_line, rows))


def _csv_line(row: Row) -> str:
    if any("," in v or '"' in v or "\n" in v or "\r" in v for v in row):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(row)
        return buffer.getvalue()
    return ",".join(row) + "\n"


def write_customers_csv(
    stream: TextIO,
    rows: int,
    *,
    seed: int = 1,
    duplicate_rate: float = 0.01,
    invalid_rate: float = 0.005,
    progress: Progress | None = None,
) -> None:
    """Write ``rows`` synthetic customers as CSV with a header line."""
    stream.write(",".join(HEADER) + "\n")
    for chunk in _chunks(rows, seed, duplicate_rate, invalid_rate, progress):
        stream.write(_csv_text(chunk))


def write_customers_jsonl(
    stream: TextIO,
    rows: int,
    *,
    seed: int = 1,
    duplicate_rate: float = 0.01,
    invalid_rate: float = 0.005,
    progress: Progress | None = None,
) -> None:
    """Write the same customers as ``write_customers_csv`` as JSON Lines (lists as arrays)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    for chunk in _chunks(rows, seed, duplicate_rate, invalid_rate, progress):
        stream.write("".join(encode(_record(row)) + "\n" for row in chunk))


def _record(row: Row) -> dict[str, str | list[str]]:
    record: dict[str, str | list[str]] = dict(zip(HEADER, row, strict=True))
    record["accounts"] = row[8].split("|") if row[8] else []
    record["exposures"] = row[9].split("|") if row[9] else []
    return record
