"""SendGrid's legacy substitutions, applied the way the sandbox (and SendGrid) apply them.

Each key is a literal tag (e.g. ``-reference_code-``) replaced by its value everywhere in the subject and
the bodies. All tags are replaced in one pass, longest first, so a value that happens to contain another
tag is never substituted again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache


@lru_cache(maxsize=256)
def _pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True)))


def apply_substitutions(text: str, substitutions: Mapping[str, str]) -> str:
    """``text`` with every substitution tag replaced by its value."""
    keys = tuple(key for key in substitutions if key)
    if not keys or not text:
        return text
    return _pattern(tuple(sorted(keys))).sub(lambda match: substitutions[match.group(0)], text)


def substitutions_size(substitutions: Mapping[str, str]) -> int:
    """Bytes of a personalization's substitutions as SendGrid limits them (compact UTF-8 JSON)."""
    return len(json.dumps(dict(substitutions), ensure_ascii=False, separators=(",", ":")).encode())


def substitutions_fit(substitutions: Mapping[str, str], limit: int) -> bool:
    """Whether the substitutions take at most ``limit`` bytes; cheap for the usual small ones."""
    chars = sum(map(len, substitutions)) + sum(map(len, substitutions.values())) + 6 * len(substitutions)
    # JSON-escaping (ensure_ascii off) and UTF-8 take at most six bytes per character.
    return 6 * chars + 2 <= limit or substitutions_size(substitutions) <= limit
