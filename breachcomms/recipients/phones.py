"""Phone numbers at import speed: the answers of phonenumbers, computed from precompiled metadata.

``phonenumbers`` recompiles-or-looks-up every pattern and builds objects on each call, which costs
most of an import's time. This module keeps one ``_Plan`` per numbering region (patterns compiled
once, possible lengths as sets) and repeats the library's own decisions with it:

- ``classify`` is ``region_code_for_number`` plus ``number_type``;
- ``parse_national`` and ``parse_international`` are ``parse`` for numbers written with digits and
  common punctuation only (nationally, or after "+"). Whenever the library would take a branch
  not repeated here (an international dialling prefix, a national prefix transform rule, a
  leading zero that is part of the number, letters, extensions), they return None and the caller
  uses the library.

``tests/recipients/test_contacts.py`` checks both against phonenumbers on generated numbers.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, REGION_CODE_FOR_NON_GEO_ENTITY, PhoneMetadata, PhoneNumberType
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import is_number_type_geographical, region_code_for_country_code
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

UNKNOWN = PhoneNumberType.UNKNOWN
_MIN_NSN, _MAX_NSN, _MAX_INPUT = 2, 17, 250  # phonenumbers' _MIN/_MAX_LENGTH_FOR_NSN, _MAX_INPUT_STRING_LENGTH
# Types in the order number_type tests them, before fixed line and mobile.
_SPECIAL_TYPES = (
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
)
# A nationally written number this module reads itself: digits with spaces, dashes, dots,
# slashes and parentheses, at least three digits (fewer take the library's short-number rules).
NATIONAL_SHAPE = re.compile(r"\(?[0-9][0-9 ().\-/]*")
INTERNATIONAL_SHAPE = re.compile(r"\+[0-9 ().\-/]*")


def _digits(text: str) -> str:
    """``text`` (of NATIONAL_SHAPE or INTERNATIONAL_SHAPE, so ASCII) without its punctuation.

    Chained replaces: str.translate with a table costs several times more on numbers this short.
    """
    if text.isdigit():
        return text
    return text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").replace(".", "").replace("/", "")


class _Desc:
    """A PhoneNumberDesc: possible lengths and a compiled pattern (never matches if absent)."""

    __slots__ = ("lengths", "pattern")

    def __init__(self, desc: object) -> None:
        lengths = getattr(desc, "possible_length", None) or ()
        pattern = getattr(desc, "national_number_pattern", None)
        self.lengths = frozenset(lengths)
        self.pattern = re.compile(pattern) if pattern else None

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern is not None and self.pattern.fullmatch(nsn) is not None

    def matches_pattern(self, nsn: str) -> bool:
        """_match_national_number: the pattern alone, lengths not checked."""
        return self.pattern is not None and self.pattern.fullmatch(nsn) is not None


class _Plan:
    """One region's metadata, compiled."""

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.country_code: int = metadata.country_code or 0
        self.country_code_text = str(self.country_code)
        self.general = _Desc(metadata.general_desc)
        self.special = [(kind, _Desc(getattr(metadata, name))) for kind, name in _SPECIAL_TYPES]
        self.special = [(kind, desc) for kind, desc in self.special if desc.pattern is not None]
        self.fixed_line = _Desc(metadata.fixed_line)
        self.mobile = _Desc(metadata.mobile)
        self.same_mobile_and_fixed_line = bool(metadata.same_mobile_and_fixed_line_pattern)
        self.leading_digits = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
        self.international_prefix = re.compile(metadata.international_prefix or "NonMatch")
        prefix = metadata.national_prefix_for_parsing
        self.national_prefix = re.compile(prefix) if prefix else None
        self.transform_rule = metadata.national_prefix_transform_rule or None
        self.length_results = {n: _length_result(metadata, n) for n in range(_MAX_NSN + 2)}
        self._by_length: dict[int, re.Pattern[str] | None] = {}

    def number_type(self, nsn: str) -> int:
        """_number_type_helper, with one regex call for the general test and the ordered type tests."""
        try:
            matcher = self._by_length[len(nsn)]
        except KeyError:
            matcher = self._by_length[len(nsn)] = self._matcher(len(nsn))
        if matcher is None:
            return UNKNOWN
        match = matcher.fullmatch(nsn)
        if match is None:
            return UNKNOWN
        kind = _GROUP_TYPES[match.lastgroup or ""]
        if kind != PhoneNumberType.FIXED_LINE:
            return kind
        if self.same_mobile_and_fixed_line or self.mobile.matches(nsn):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return kind

    def _matcher(self, length: int) -> re.Pattern[str] | None:
        """One pattern for numbers of ``length`` digits: it matches where the general description
        does (a lookahead) and its first matching alternative is the type number_type would pick."""
        general = self.general
        if general.pattern is None or (general.lengths and length not in general.lengths):
            return None
        candidates = [*self.special, (PhoneNumberType.FIXED_LINE, self.fixed_line)]
        if not self.same_mobile_and_fixed_line:
            candidates.append((PhoneNumberType.MOBILE, self.mobile))
        alternatives = [
            f"(?P<{_TYPE_GROUPS[kind]}>{desc.pattern.pattern})"
            for kind, desc in candidates
            if desc.pattern is not None and (not desc.lengths or length in desc.lengths)
        ]
        if not alternatives:
            return None
        return re.compile(f"(?=(?:{general.pattern.pattern})\\Z)(?:{'|'.join(alternatives)})")


_TYPE_GROUPS = {
    kind: f"t{kind}" for kind in (*(k for k, _ in _SPECIAL_TYPES), PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE)
}
_GROUP_TYPES = {name: kind for kind, name in _TYPE_GROUPS.items()}


# _test_number_length's verdicts, for the only type parse asks about (UNKNOWN: the general desc).
_IS_POSSIBLE, _LOCAL_ONLY, _TOO_SHORT, _INVALID_LENGTH, _TOO_LONG = range(5)


def _length_result(metadata: PhoneMetadata, length: int) -> int:
    general = metadata.general_desc
    assert general is not None  # every region's metadata has one
    lengths = list(general.possible_length)
    if length in (general.possible_length_local_only or ()):
        return _LOCAL_ONLY
    if lengths[0] == length:
        return _IS_POSSIBLE
    if lengths[0] > length:
        return _TOO_SHORT
    if lengths[-1] < length:
        return _TOO_LONG
    return _IS_POSSIBLE if length in lengths[1:] else _INVALID_LENGTH


_REGION_PLANS: dict[str, _Plan | None] = {}  # a few hundred regions at most
_NON_GEO_PLANS: dict[int, _Plan | None] = {}


def plan_for_region(region: str) -> _Plan | None:
    try:
        return _REGION_PLANS[region]
    except KeyError:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        plan = _REGION_PLANS[region] = _Plan(metadata) if metadata is not None else None
        return plan


def _plan_for_non_geo(country_code: int) -> _Plan | None:
    try:
        return _NON_GEO_PLANS[country_code]
    except KeyError:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
        plan = _NON_GEO_PLANS[country_code] = _Plan(metadata) if metadata is not None else None
        return plan


@cache  # a few hundred country codes at most
def _region_plans(country_code: int) -> tuple[tuple[str, _Plan | None], ...] | None:
    """The regions sharing a country code, each with its plan (the plans only where there are several)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return None
    if len(regions) == 1:
        return ((regions[0], None),)
    return tuple((region, plan_for_region(region.upper())) for region in regions)


def region_for(country_code: int, nsn: str) -> str | None:
    """region_code_for_number."""
    return _region_and_type(country_code, nsn)[0]


def _region_and_type(country_code: int, nsn: str) -> tuple[str | None, int | None]:
    """region_code_for_number, and the number's type when finding the region computed it."""
    regions = _region_plans(country_code)
    if regions is None:
        return None, None
    if len(regions) == 1:
        return regions[0][0], None
    for region, plan in regions:
        if plan is None:
            continue
        if plan.leading_digits is not None:
            if plan.leading_digits.match(nsn):
                return region, None
        else:
            kind = plan.number_type(nsn)
            if kind != UNKNOWN:
                return region, kind
    return None, None


def classify(country_code: int, nsn: str) -> tuple[int, str | None]:
    """(number_type, region_code_for_number) of +<country_code><nsn>."""
    region, kind = _region_and_type(country_code, nsn)
    if kind is not None:
        return kind, region
    if region == REGION_CODE_FOR_NON_GEO_ENTITY:
        plan = _plan_for_non_geo(country_code)
    else:
        plan = plan_for_region(region) if region is not None else None
    if plan is None:
        return UNKNOWN, region
    return plan.number_type(nsn), region


def _strip_national_prefix(number: str, plan: _Plan) -> str | None:
    """_maybe_strip_national_prefix_carrier_code's number; None where a transform rule applies."""
    if not number or plan.national_prefix is None:
        return number
    match = plan.national_prefix.match(number)
    if not match:
        return number
    groups = match.groups()
    if plan.transform_rule and (not groups or groups[-1] is not None):
        return None
    # The library keeps the prefix when the number fits the general pattern and would not without
    # it; the stripped number is tested first, as nearly every one fits.
    stripped = number[match.end() :]
    if plan.general.matches_pattern(stripped) or not plan.general.matches_pattern(number):
        return stripped
    return number


def parse_national(value: str, region: str) -> tuple[int, str] | None:
    """(country code, NSN) as ``phonenumbers.parse(value, region)`` gives them, or None.

    For numbers written without "+". None means "not decided here" (use the library), never
    "invalid". ``value`` must be stripped.
    """
    if len(value) > _MAX_INPUT or not NATIONAL_SHAPE.fullmatch(value):
        return None
    digits = _digits(value)
    plan = plan_for_region(region)
    if len(digits) < 3 or plan is None or plan.international_prefix.match(digits):
        return None
    if digits.startswith(plan.country_code_text):
        # _maybe_extract_country_code: the country code written without "+", if the rest fits better.
        rest = _strip_national_prefix(digits[len(plan.country_code_text) :], plan)
        if rest is None:
            return None
        fits_better = not plan.general.matches_pattern(digits) and plan.general.matches_pattern(rest)
        if fits_better or plan.length_results.get(len(digits), _TOO_LONG) == _TOO_LONG:
            main = _plan_for_country_code(plan.country_code)
            return _significant(rest, main) if main is not None else None
    return _significant(digits, plan)


def parse_international(value: str) -> tuple[int, str] | None:
    """(country code, NSN) as ``phonenumbers.parse(value, None)`` gives them for "+…", or None."""
    if len(value) > _MAX_INPUT or not INTERNATIONAL_SHAPE.fullmatch(value):
        return None
    digits = _digits(value[1:])
    if len(digits) < 3 or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        country_code = _COUNTRY_CODES.get(digits[:size])
        if country_code is not None:
            plan = _plan_for_country_code(country_code)
            return _significant(digits[size:], plan) if plan is not None else None
    return None


def _significant(number: str, plan: _Plan) -> tuple[int, str] | None:
    """The end of parse: strip a national prefix if what remains has a possible length."""
    if len(number) < _MIN_NSN:
        return None
    stripped = _strip_national_prefix(number, plan)
    if stripped is None:
        return None
    if plan.length_results.get(len(stripped), _TOO_LONG) not in (_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH):
        number = stripped
    if not _MIN_NSN <= len(number) <= _MAX_NSN or number[0] == "0":
        return None
    return plan.country_code, number


_COUNTRY_CODES = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}  # "46" → 46


@cache
def _plan_for_country_code(country_code: int) -> _Plan | None:
    """The metadata parse uses for a number with this country code: its main region's."""
    region = region_code_for_country_code(country_code)
    if region == REGION_CODE_FOR_NON_GEO_ENTITY:
        return _plan_for_non_geo(country_code)
    return plan_for_region(region)


@lru_cache(maxsize=512)
def _country_level_zones(country_code: int) -> tuple[str, ...]:
    code = str(country_code)
    for size in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(code[: 1 + size])
        if zones is not None:
            return tuple(zones)
    return (phone_timezone.UNKNOWN_TIMEZONE,)


@cache
def _zone_prefixes(country_code: int) -> tuple[frozenset[int], tuple[int, ...]]:
    """The number types that are geographical for this country code, and the lengths (longest first)
    of the time zone data's prefixes a number with this country code can start with."""
    code = str(country_code)
    kinds = frozenset(kind for kind in range(UNKNOWN + 1) if is_number_type_geographical(kind, country_code))
    sizes = {len(key) for key in TIMEZONE_DATA if key.startswith(code) or code.startswith(key)}
    return kinds, tuple(sorted(sizes, reverse=True))


def time_zones(e164: str, country_code: int, number_type: int) -> tuple[str, ...]:
    """phonenumbers.timezone.time_zones_for_number for a valid number."""
    geographical, sizes = _zone_prefixes(country_code)
    if number_type not in geographical:
        return _country_level_zones(country_code)
    for size in sizes:
        zones = TIMEZONE_DATA.get(e164[1 : 1 + size])
        if zones is not None:
            return tuple(zones)
    return (phone_timezone.UNKNOWN_TIMEZONE,)
