"""The documented rules of a v3 mail-send request body; each broken rule is a ``(field, message)`` pair.

Limits: at most 1,000 personalizations and 1,000 recipients (to + cc + bcc) per request, each address once
per request; from, subject (or one per personalization), content (text/plain first, then text/html, each
type once) and personalizations with ``to`` required; substitutions at most 10,000 bytes and custom_args
under 10,000 bytes per personalization; at most 10 categories; the whole request under 30 MB (checked by
the caller, which sees the size before the body).
"""

from __future__ import annotations

import re
from typing import Any

from breachcomms.channels.substitutions import substitutions_fit

MAX_REQUEST_BYTES = 30 * 1024 * 1024
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_SUBSTITUTION_BYTES = 10_000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_CATEGORIES = 10
# Permissive on purpose (internationalised addresses pass), strict on what breaks an address header.
EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\.]+(\.[^@\s<>(),;:\"\[\]\\.]+)+$")
VALID_ADDRESS = "Does not contain a valid address."

Error = tuple[str | None, str]


def validate(payload: Any) -> list[Error]:
    if not isinstance(payload, dict):
        return [(None, "The request body must be a JSON object.")]
    errors: list[Error] = []
    errors += _sender(payload)
    errors += _content(payload)
    errors += _personalizations(payload)
    errors += _extras(payload)
    return errors


def _address(value: Any, where: str) -> list[Error]:
    if not isinstance(value, dict) or not isinstance(value.get("email"), str):
        return [
            (where, 'Each address must be an object with an email and optionally a name: {"email": "a@b.example"}.')
        ]
    errors: list[Error] = []
    if not EMAIL.match(value["email"]):
        errors.append((f"{where}.email", VALID_ADDRESS))
    if "name" in value and not isinstance(value["name"], str):
        errors.append((f"{where}.name", "The name must be a string."))
    return errors


def _sender(payload: dict[str, Any]) -> list[Error]:
    if "from" not in payload:
        return [("from.email", "The from object must be provided for every email send, with an email address.")]
    errors = _address(payload["from"], "from")
    if payload.get("reply_to") is not None:
        errors += _address(payload["reply_to"], "reply_to")
    return errors


def _content(payload: dict[str, Any]) -> list[Error]:
    template = payload.get("template_id")
    content = payload.get("content")
    if content is None and isinstance(template, str) and template:
        return []
    if not isinstance(content, list) or not content:
        return [("content", "Unless a valid template_id is provided, the content parameter is required.")]
    errors: list[Error] = []
    types: list[str] = []
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            errors.append((f"content.{index}", "Each content block must be an object with a type and a value."))
            continue
        kind, value = part.get("type"), part.get("value")
        if not isinstance(kind, str) or not kind or any(c in kind for c in ";\r\n"):
            errors.append((f"content.{index}.type", "The content type must be a string at least one character long."))
        else:
            types.append(kind.lower())
        if not isinstance(value, str) or not value:
            errors.append((f"content.{index}.value", "The content value must be a string at least one character long."))
    if len(set(types)) != len(types):
        errors.append(("content", "Each content type may only be provided once."))
    order = [kind for kind in types if kind in ("text/plain", "text/html")]
    if order and types[: len(order)] != sorted(order, key=("text/plain", "text/html").index):
        errors.append(("content", "If present, text/plain must come first, then text/html, then any other type."))
    return errors


def _personalizations(payload: dict[str, Any]) -> list[Error]:
    items = payload.get("personalizations")
    if not isinstance(items, list) or not items:
        return [("personalizations", "The personalizations field is required and must have at least one.")]
    if len(items) > MAX_PERSONALIZATIONS:
        return [
            (
                "personalizations",
                f"The personalizations block is limited to {MAX_PERSONALIZATIONS} personalizations per request; "
                f"you provided {len(items)}. Split them over several requests.",
            )
        ]
    errors: list[Error] = []
    seen: set[str] = set()
    recipients = 0
    dynamic = str(payload.get("template_id") or "").startswith("d-")
    message_args = payload.get("custom_args")
    if message_args is not None and not _string_map(message_args):
        errors.append(("custom_args", "custom_args must be an object whose values are strings."))
        message_args = {}
    has_subject = isinstance(payload.get("subject"), str) and bool(payload["subject"])
    for index, item in enumerate(items):
        where = f"personalizations.{index}"
        if not isinstance(item, dict):
            errors.append((where, "Each personalization must be an object."))
            continue
        recipients += _recipients(item, where, seen, errors)
        errors += _personal_values(item, where, message_args or {}, dynamic)
        if not has_subject and not (isinstance(item.get("subject"), str) and item["subject"]) and not dynamic:
            errors.append(("subject", "The subject is required, unless every personalization has its own subject."))
            has_subject = True  # said once
    if recipients > MAX_RECIPIENTS:
        errors.append(
            ("personalizations", f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
             f"request; this request has {recipients}.")
        )  # fmt: skip
    return errors


def _recipients(item: dict[str, Any], where: str, seen: set[str], errors: list[Error]) -> int:
    to = item.get("to")
    if not isinstance(to, list) or not to:
        errors.append((f"{where}.to", "The to array is required for all personalization objects, with at least one "
                       "valid email address."))  # fmt: skip
    count = 0
    for kind in ("to", "cc", "bcc"):
        addresses = item.get(kind)
        if addresses is None or (kind == "to" and not isinstance(addresses, list)):
            continue
        if not isinstance(addresses, list):
            errors.append((f"{where}.{kind}", f"The {kind} field must be an array of addresses."))
            continue
        for position, address in enumerate(addresses):
            problems = _address(address, f"{where}.{kind}.{position}")
            errors += problems
            count += 1
            if problems:
                continue
            key = address["email"].lower()
            if key in seen:
                errors.append((where, f"Each email address in the request should be unique between to, cc and bcc. "
                               f"We found the first duplicate instance of [{address['email']}] in the "
                               f"{where}.{kind} field."))  # fmt: skip
            seen.add(key)
    return count


def _personal_values(item: dict[str, Any], where: str, message_args: dict[str, str], dynamic: bool) -> list[Error]:
    errors: list[Error] = []
    subs = item.get("substitutions")
    if subs is not None:
        if dynamic:
            errors.append((f"{where}.substitutions", "Substitutions may not be used with dynamic templates."))
        elif not _string_map(subs):
            errors.append((f"{where}.substitutions", "substitutions must be an object whose values are strings."))
        elif not substitutions_fit(subs, MAX_SUBSTITUTION_BYTES):
            errors.append((f"{where}.substitutions", f"The substitutions of a personalization may not exceed "
                           f"{MAX_SUBSTITUTION_BYTES:,} bytes."))  # fmt: skip
    args = item.get("custom_args")
    if args is not None and not _string_map(args):
        errors.append((f"{where}.custom_args", "custom_args must be an object whose values are strings."))
    elif (args or message_args) and not substitutions_fit({**message_args, **(args or {})}, MAX_CUSTOM_ARGS_BYTES - 1):
        errors.append((f"{where}.custom_args", f"The custom arguments of a personalization must be under "
                       f"{MAX_CUSTOM_ARGS_BYTES:,} bytes."))  # fmt: skip
    if "subject" in item and not isinstance(item["subject"], str):
        errors.append((f"{where}.subject", "The subject must be a string."))
    return errors


def _extras(payload: dict[str, Any]) -> list[Error]:
    errors: list[Error] = []
    if "subject" in payload and not isinstance(payload["subject"], str):
        errors.append(("subject", "The subject must be a string."))
    categories = payload.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or len(categories) > MAX_CATEGORIES:
            errors.append(("categories", f"categories must be an array of at most {MAX_CATEGORIES} strings."))
        elif any(not isinstance(c, str) or not c.isascii() or len(c) > 255 for c in categories):
            errors.append(("categories", "Each category must be an ASCII string of at most 255 characters."))
    for index, attachment in enumerate(payload.get("attachments") or []):
        if not isinstance(attachment, dict) or not attachment.get("content") or not attachment.get("filename"):
            errors.append((f"attachments.{index}", "Each attachment needs a base64 content and a filename."))
    for name in ("mail_settings", "tracking_settings", "headers"):
        if name in payload and not isinstance(payload[name], dict):
            errors.append((name, f"{name} must be an object."))
    return errors


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
