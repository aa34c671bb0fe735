"""The sieve of a direct load never misses a row that shares a key with another (sieve.py)."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from breachcomms.incidents.risk import DEFAULT_RISK_RULES, RiskRules
from breachcomms.recipients.chunks import Chunk
from breachcomms.recipients.readers import CsvLayout, csv_header
from breachcomms.recipients.rows import RowNormalizer
from breachcomms.recipients.sieve import KeySieve, email_hash, phone_hash
from breachcomms.recipients.staging import DirectLoad, StagingJob, stage_chunk

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


def test_a_direct_loads_workers_hash_keys_as_the_sieve_defines() -> None:
    # stage_chunk computes the hashes inline (it runs for every row); they must be these.
    header = "email,phone,country"
    body = "Ann@Example.se,+46701234567,SE\nörjan@exempel.se,,SE\n,070-123 45 68,SE\n"
    found = csv_header(header)
    assert found is not None
    load = DirectLoad(incident_id=1, base=100, rules=RiskRules.from_json(DEFAULT_RISK_RULES))
    job = StagingJob(RowNormalizer("en"), CsvLayout.from_header(*found), copy_text=True, direct=load)
    result = stage_chunk(job, Chunk(body.encode(), first_line=2, lines=3, last=True))
    assert result.keys is not None
    assert list(result.keys) == [
        2,
        email_hash("Ann@example.se"),
        2,
        phone_hash("+46701234567"),
        3,
        email_hash("örjan@exempel.se"),
        4,
        phone_hash("+46701234568"),
    ]
    assert email_hash("örjan@exempel.se") == -1  # not ASCII: only SQL compares it
