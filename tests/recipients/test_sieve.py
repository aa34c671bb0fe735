"""The sieve of a direct load never misses a row that shares a key with another (sieve.py)."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from breachcomms.recipients.sieve import KeySieve, email_hash, phone_hash

KEYS = st.lists(st.sampled_from(["a@x.se", "A@X.se", "b@x.se", "Ö@x.se", "ö@x.se", "+46701234567", "+4670"]))


def _pairs(keys: list[str]) -> array:
    pairs = array("q")
    for line, key in enumerate(keys, start=2):
        pairs.extend((line, phone_hash(key) if key.startswith("+") else email_hash(key)))
    return pairs


@given(keys=KEYS)
def test_every_line_whose_key_came_before_is_named(keys: list[str]) -> None:
    sieve = KeySieve()
    sieve.add(_pairs(keys))
    folded = [key.lower() if key.isascii() else key for key in keys]
    for index, key in enumerate(folded):
        if key in folded[:index] or not key.isascii():
            assert index + 2 in sieve.lines


def test_keys_seen_once_are_not_named() -> None:
    sieve = KeySieve()
    sieve.add(_pairs(["a@x.se", "b@x.se", "+46701234567"]))
    assert sieve.lines == []
