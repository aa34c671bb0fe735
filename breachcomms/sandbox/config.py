"""What the sandbox does: credentials, injected errors, outcomes and webhook behaviour; changed at run time.

``POST /sandbox/config`` (and ``--config``) take a JSON object merged into the current configuration;
unknown keys and bad values are refused with a 400 naming them, and then nothing changes. For example
``{"email": {"fail_next": [429, 500]}, "webhooks": {"duplicate_rate": 1, "reorder_rate": 0.5}}``.

- ``email`` / ``sms``: ``fail_next`` (statuses 429/500/503 for the next requests, in order),
  ``error_rates`` ({"429": 0.01, "503": 0.02}: random failures), ``retry_after`` (seconds announced on an
  injected 429), ``rate_limit`` ({"requests": N, "per_seconds": S}: 429 beyond it), ``outcome_rates``
  (email: deferred/bounce/blocked/dropped/spamreport; sms: undelivered/failed; the rest is delivered) and
  ``outcome_rules`` ([{"match": regex, "outcome", "error_code"}], tried first, in order). By default an
  address whose local part contains bounce, blocked, dropped, deferred or spamreport gets that outcome;
  +15005550010/11 are undelivered (30003/30005) and +15005550012 failed (30008).
- ``webhooks``: ``enabled``, ``sendgrid_url`` (where event batches go), ``twilio_callbacks``, ``delay``
  ([min, max] seconds between one event of a message and the next), ``duplicate_rate`` (share of events
  posted 2..``max_copies`` times), ``reorder_rate`` (share held back behind later ones; batches are
  shuffled), ``batch_size`` / ``batch_interval`` (SendGrid batching), ``retry_for`` (seconds a refused
  webhook is retried, with backoff).
- ``lookups`` (the search APIs reconciliation asks: SendGrid's Email Activity, Twilio's message list):
  ``email_activity`` (false: the account lacks the Email Activity add-on, every search answers 403) and
  ``fail_next`` (statuses 429/500/503 for the next searches of either API, in order).
- ``seed``: makes the random choices repeatable.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

EMAIL_OUTCOMES = ("delivered", "deferred", "bounce", "blocked", "dropped", "spamreport")
SMS_OUTCOMES = ("delivered", "undelivered", "failed")
INJECTABLE_STATUSES = (429, 500, 503)


class ConfigError(ValueError):
    """A configuration change that cannot be applied; the message says which key and why."""


@dataclass
class OutcomeRule:
    """Addresses (or numbers) matching ``pattern`` get ``outcome``; SMS rules may name the error code."""

    pattern: re.Pattern[str]
    outcome: str
    error_code: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"match": self.pattern.pattern, "outcome": self.outcome, "error_code": self.error_code}


@dataclass
class ChannelConfig:
    """Faults and outcomes of one provider API."""

    outcomes: tuple[str, ...]
    error_rates: dict[int, float] = field(default_factory=dict)
    fail_next: deque[int] = field(default_factory=deque)
    retry_after: float = 1.0  # announced on injected 429s
    rate_limit: int = 0  # requests per window; 0 = unlimited
    rate_window: float = 1.0
    outcome_rates: dict[str, float] = field(default_factory=dict)
    outcome_rules: list[OutcomeRule] = field(default_factory=list)

    def rule_for(self, address: str) -> OutcomeRule | None:
        """The first rule that matches ``address``."""
        if not self.outcome_rules or not _any_rule(tuple(rule.pattern for rule in self.outcome_rules)).search(address):
            return None  # one search rules out every rule for the usual address
        return next(rule for rule in self.outcome_rules if rule.pattern.search(address))

    def as_json(self) -> dict[str, Any]:
        return {
            "error_rates": {str(status): rate for status, rate in self.error_rates.items()},
            "fail_next": list(self.fail_next),
            "retry_after": self.retry_after,
            "rate_limit": {"requests": self.rate_limit, "per_seconds": self.rate_window},
            "outcome_rates": dict(self.outcome_rates),
            "outcome_rules": [rule.as_json() for rule in self.outcome_rules],
        }


@dataclass
class WebhookConfig:
    enabled: bool = True
    sendgrid_url: str = ""  # where SendGrid event batches go; empty: recorded but not posted
    delay: tuple[float, float] = (0.0, 0.0)  # seconds between one event of a message and the next
    duplicate_rate: float = 0.0  # share of events posted 2..max_copies times
    max_copies: int = 3
    reorder_rate: float = 0.0  # share of events held back (posted after later ones)
    batch_size: int = 1000
    batch_interval: float = 0.5
    retry_for: float = 3600.0  # give a webhook up after failing this long
    twilio_callbacks: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "sendgrid_url": self.sendgrid_url,
            "delay": list(self.delay),
            "duplicate_rate": self.duplicate_rate,
            "max_copies": self.max_copies,
            "reorder_rate": self.reorder_rate,
            "batch_size": self.batch_size,
            "batch_interval": self.batch_interval,
            "retry_for": self.retry_for,
            "twilio_callbacks": self.twilio_callbacks,
        }


@dataclass
class LookupConfig:
    email_activity: bool = True  # the paid add-on SendGrid's Email Activity API needs
    fail_next: deque[int] = field(default_factory=deque)

    def as_json(self) -> dict[str, Any]:
        return {"email_activity": self.email_activity, "fail_next": list(self.fail_next)}


@lru_cache(maxsize=8)
def _any_rule(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


def default_email_rules() -> list[OutcomeRule]:
    """Addresses whose local part names an outcome get it: ``ann.bounce@…`` hard-bounces, and so on."""
    return [
        OutcomeRule(re.compile(rf"^[^@]*{name}[^@]*@", re.IGNORECASE), name)
        for name in ("bounce", "blocked", "dropped", "deferred", "spamreport")
    ]


def default_sms_rules() -> list[OutcomeRule]:
    """Sandbox-only numbers in Twilio's test range whose status callbacks report a failure."""
    return [
        OutcomeRule(re.compile(r"^\+15005550010$"), "undelivered", 30003),
        OutcomeRule(re.compile(r"^\+15005550011$"), "undelivered", 30005),
        OutcomeRule(re.compile(r"^\+15005550012$"), "failed", 30008),
    ]


@dataclass
class SandboxConfig:
    sendgrid_api_key: str
    twilio_account_sid: str
    twilio_auth_token: str
    email: ChannelConfig = field(
        default_factory=lambda: ChannelConfig(EMAIL_OUTCOMES, outcome_rules=default_email_rules())
    )
    sms: ChannelConfig = field(default_factory=lambda: ChannelConfig(SMS_OUTCOMES, outcome_rules=default_sms_rules()))
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)
    lookups: LookupConfig = field(default_factory=LookupConfig)
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "email": self.email.as_json(),
            "sms": self.sms.as_json(),
            "webhooks": self.webhooks.as_json(),
            "lookups": self.lookups.as_json(),
            "seed": self.seed,
        }

    def apply(self, patch: Any) -> None:
        """Merge a JSON patch; nothing changes unless all of it is valid."""
        _object(
            patch, "config", {"email", "sms", "webhooks", "lookups", "seed", "sendgrid_api_key", "twilio_auth_token"}
        )
        changes = [
            *(_channel_changes(self.email, patch["email"], "email") if "email" in patch else []),
            *(_channel_changes(self.sms, patch["sms"], "sms") if "sms" in patch else []),
            *(_webhook_changes(self.webhooks, patch["webhooks"]) if "webhooks" in patch else []),
            *(_lookup_changes(self.lookups, patch["lookups"]) if "lookups" in patch else []),
        ]
        for key in ("seed", "sendgrid_api_key", "twilio_auth_token"):
            if key in patch:
                value = patch[key]
                if key == "seed" and value is not None and not _is_int(value):
                    raise ConfigError("seed: an integer or null")
                if key != "seed" and (not isinstance(value, str) or not value):
                    raise ConfigError(f"{key}: a non-empty string")
                changes.append((self, key, value))
        for target, name, value in changes:
            setattr(target, name, value)


Change = tuple[object, str, Any]


def _channel_changes(channel: ChannelConfig, patch: Any, where: str) -> list[Change]:
    keys = {"error_rates", "fail_next", "retry_after", "rate_limit", "outcome_rates", "outcome_rules"}
    _object(patch, where, keys)
    changes: list[Change] = []
    if "error_rates" in patch:
        rates = _rates(patch["error_rates"], f"{where}.error_rates", {str(s) for s in INJECTABLE_STATUSES})
        changes.append((channel, "error_rates", {int(status): rate for status, rate in rates.items()}))
    if "fail_next" in patch:
        changes.append((channel, "fail_next", deque(_statuses(patch["fail_next"], f"{where}.fail_next"))))
    if "retry_after" in patch:
        changes.append((channel, "retry_after", _number(patch["retry_after"], f"{where}.retry_after", 0, 3600)))
    if "rate_limit" in patch:
        limit = patch["rate_limit"]
        _object(limit, f"{where}.rate_limit", {"requests", "per_seconds"})
        requests = _number(limit.get("requests", 0), f"{where}.rate_limit.requests", 0, 10**9)
        changes.append((channel, "rate_limit", int(requests)))
        window = _number(limit.get("per_seconds", 1.0), f"{where}.rate_limit.per_seconds", 0.001, 86400)
        changes.append((channel, "rate_window", window))
    if "outcome_rates" in patch:
        changes.append(
            (channel, "outcome_rates", _rates(patch["outcome_rates"], f"{where}.outcome_rates", set(channel.outcomes)))
        )
    if "outcome_rules" in patch:
        changes.append((channel, "outcome_rules", _rules(patch["outcome_rules"], f"{where}.outcome_rules", channel)))
    return changes


def _lookup_changes(lookups: LookupConfig, patch: Any) -> list[Change]:
    _object(patch, "lookups", {"email_activity", "fail_next"})
    changes: list[Change] = []
    if "email_activity" in patch:
        if not isinstance(patch["email_activity"], bool):
            raise ConfigError("lookups.email_activity: true or false")
        changes.append((lookups, "email_activity", patch["email_activity"]))
    if "fail_next" in patch:
        changes.append((lookups, "fail_next", deque(_statuses(patch["fail_next"], "lookups.fail_next"))))
    return changes


def _statuses(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or any(s not in INJECTABLE_STATUSES or isinstance(s, bool) for s in value):
        raise ConfigError(f"{where}: a list of statuses among {INJECTABLE_STATUSES}")
    return value


def _webhook_changes(webhooks: WebhookConfig, patch: Any) -> list[Change]:
    numbers = {
        "duplicate_rate": (0, 1),
        "reorder_rate": (0, 1),
        "max_copies": (2, 10),
        "batch_size": (1, 100_000),
        "batch_interval": (0.001, 3600),
        "retry_for": (0, 7 * 86400),
    }
    _object(patch, "webhooks", {*numbers, "enabled", "sendgrid_url", "delay", "twilio_callbacks"})
    changes: list[Change] = []
    for name, (low, high) in numbers.items():
        if name in patch:
            value = _number(patch[name], f"webhooks.{name}", low, high)
            changes.append((webhooks, name, int(value) if name in ("max_copies", "batch_size") else value))
    for name in ("enabled", "twilio_callbacks"):
        if name in patch:
            if not isinstance(patch[name], bool):
                raise ConfigError(f"webhooks.{name}: true or false")
            changes.append((webhooks, name, patch[name]))
    if "sendgrid_url" in patch:
        url = patch["sendgrid_url"]
        if not isinstance(url, str) or (url and not re.match(r"^https?://[^/\s]+", url)):
            raise ConfigError("webhooks.sendgrid_url: an http(s) URL or an empty string")
        changes.append((webhooks, "sendgrid_url", url))
    if "delay" in patch:
        delay = patch["delay"]
        if not isinstance(delay, list) or len(delay) != 2:
            raise ConfigError("webhooks.delay: [min, max] seconds")
        shortest, longest = (_number(value, "webhooks.delay", 0, 86400) for value in delay)
        if shortest > longest:
            raise ConfigError("webhooks.delay: min must not exceed max")
        changes.append((webhooks, "delay", (shortest, longest)))
    return changes


def _rules(value: Any, where: str, channel: ChannelConfig) -> list[OutcomeRule]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: a list of {{match, outcome, error_code}}")
    rules = []
    for index, item in enumerate(value):
        _object(item, f"{where}[{index}]", {"match", "outcome", "error_code"})
        if item.get("outcome") not in channel.outcomes:
            raise ConfigError(f"{where}[{index}].outcome: one of {', '.join(channel.outcomes)}")
        code = item.get("error_code")
        if code is not None and not _is_int(code):
            raise ConfigError(f"{where}[{index}].error_code: an integer or null")
        try:
            pattern = re.compile(str(item.get("match", "")), re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{where}[{index}].match: not a regular expression: {exc}") from exc
        rules.append(OutcomeRule(pattern, item["outcome"], code))
    return rules


def _rates(value: Any, where: str, allowed: set[str]) -> dict[str, float]:
    _object(value, where, allowed)
    rates = {str(key): _number(rate, f"{where}.{key}", 0, 1) for key, rate in value.items()}
    if sum(rates.values()) > 1:
        raise ConfigError(f"{where}: the rates add up to more than 1")
    return rates


def _object(value: Any, where: str, allowed: set[str]) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: a number from {low} to {high}")
    return float(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
