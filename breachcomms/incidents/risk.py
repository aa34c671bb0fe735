"""Risk tiers from exposed categories.

The rules are per incident (editable by the commander); these are the defaults. A customer is in
the highest tier any of their exposed categories reaches; ``risk_basis`` keeps the categories that
decided it, so the reason survives later edits of the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from breachcomms.incidents.categories import BY_CODE, flags_for


class RiskTier(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


DEFAULT_RISK_RULES: dict[str, list[str]] = {
    RiskTier.HIGH: ["password", "payment_card", "bank_account", "national_id", "health", "biometric"],
    RiskTier.MEDIUM: ["date_of_birth", "address", "phone", "security_questions", "location"],
}


def default_risk_rules() -> dict[str, list[str]]:
    return {tier: list(codes) for tier, codes in DEFAULT_RISK_RULES.items()}


@dataclass(frozen=True)
class RiskRules:
    """Compiled rules: one bit mask per tier above low."""

    high: int
    medium: int

    @classmethod
    def from_json(cls, rules: dict[str, Any]) -> RiskRules:
        validate_risk_rules(rules)
        return cls(high=flags_for(rules.get(RiskTier.HIGH, [])), medium=flags_for(rules.get(RiskTier.MEDIUM, [])))

    def classify(self, flags: int) -> tuple[str, int]:
        """(tier, the flags that decided it) for a customer's exposure flags."""
        if flags & self.high:
            return RiskTier.HIGH, flags & self.high
        if flags & self.medium:
            return RiskTier.MEDIUM, flags & self.medium
        return RiskTier.LOW, flags


def validate_risk_rules(rules: Any) -> None:
    """Raise ValueError with a readable message if ``rules`` is not a valid rule set."""
    if not isinstance(rules, dict):
        raise ValueError('risk rules must be an object like {"high": [...], "medium": [...]}')
    unknown_tiers = set(rules) - {RiskTier.HIGH, RiskTier.MEDIUM}
    if unknown_tiers:
        raise ValueError(f"unknown tier(s) {sorted(unknown_tiers)}: only 'high' and 'medium' take rules")
    seen: dict[str, str] = {}
    for tier, codes in rules.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ValueError(f"tier {tier!r} must list category codes")
        for code in codes:
            if code not in BY_CODE:
                raise ValueError(f"unknown category {code!r} in tier {tier!r}; known: {', '.join(sorted(BY_CODE))}")
            if code in seen:
                raise ValueError(f"category {code!r} is in both {seen[code]!r} and {tier!r}")
            seen[code] = tier
