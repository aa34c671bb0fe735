"""The catalog of personal-data categories a breach can expose.

Each category has a fixed bit so a customer's exposures are one integer (``exposure_flags``):
merging two records is a bitwise OR and risk tiers are computed in SQL with ``&`` on any database.
Never renumber a bit: it is stored. Add new categories at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Category:
    code: str
    bit: int
    label: Promise
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> int:
        return 1 << self.bit


CATEGORIES: tuple[Category, ...] = (
    Category("name", 0, _("name"), ("full_name", "names")),
    Category("email", 1, _("email address"), ("e_mail", "email_address", "mail")),
    Category("phone", 2, _("phone number"), ("mobile", "telephone", "phone_number", "msisdn")),
    Category("address", 3, _("postal address"), ("postal_address", "home_address", "street_address")),
    Category("date_of_birth", 4, _("date of birth"), ("dob", "birth_date", "birthday", "birthdate")),
    Category("password", 5, _("password"), ("passwords", "password_hash", "hashed_password", "credentials")),
    Category("payment_card", 6, _("payment card details"), ("card", "credit_card", "debit_card", "card_number", "pan")),
    Category("bank_account", 7, _("bank account details"), ("iban", "bank", "account_number", "bank_details")),
    Category(
        "national_id", 8, _("national identity number"), ("ssn", "personnummer", "nik", "passport", "snils", "tax_id")
    ),
    Category("health", 9, _("health information"), ("medical", "phi", "health_data")),
    Category("security_questions", 10, _("security questions and answers"), ("security_question", "secret_question")),
    Category("username", 11, _("username"), ("login", "user_name")),
    Category("ip_address", 12, _("IP address"), ("ip",)),
    Category("purchase_history", 13, _("purchase history"), ("orders", "order_history", "purchases")),
    Category("location", 14, _("location data"), ("geolocation", "gps")),
    Category("biometric", 15, _("biometric data"), ("biometrics", "fingerprint", "face")),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
_LOOKUP: dict[str, Category] = {}
for _category in CATEGORIES:
    for _key in (_category.code, *_category.aliases):
        _LOOKUP[_key] = _category

_SEPARATORS = re.compile(r"[\s\-./]+")


def category_for(value: str) -> Category | None:
    """The category a free-text value names (``"Credit card"`` → payment_card), or None."""
    key = _SEPARATORS.sub("_", value.strip().lower()).strip("_")
    return _LOOKUP.get(key)


def flags_for(codes: Iterable[str]) -> int:
    """The bit set for category codes (unknown codes raise KeyError)."""
    flags = 0
    for code in codes:
        flags |= BY_CODE[code].flag
    return flags


def codes_in(flags: int) -> list[str]:
    """The category codes whose bits are set, in catalog order."""
    return [c.code for c in CATEGORIES if flags & c.flag]
