"""Shared fixtures. Tests run on PostgreSQL; ``-m sqlite`` re-runs the marked ones on SQLite.

Under CI (``CI=true``) a missing PostgreSQL, Redis or Chromium is a failure, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.utils import translation

from breachcomms.core import roles
from breachcomms.incidents.models import Incident


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language, whatever a page in another language activated before."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def incident(db: Any) -> Incident:
    return Incident.objects.create(
        title="Customer database accessed",
        organization="Example Shop",
        sender_name="Example Shop Security",
        sender_email="security@example.com",
        default_locale="en",
        support_phone="+46 8 123 456 00",
        support_email="help@example.com",
        support_website="https://example.com/security",
        allowed_link_domains=["example.com"],
    )


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(username: str, role: str | None = None, password: str = "pw-for-tests-only") -> User:
        user = User.objects.create_user(username=username, password=password, is_staff=True)
        if role:
            if not Group.objects.filter(name=role).exists():
                # A transactional test's flush empties the tables the roles migration filled.
                roles.sync_role_groups(Group, Permission, ContentType)
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def commander(make_user: Callable[..., User]) -> User:
    return make_user("commander", roles.INCIDENT_COMMANDER)


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user("author", roles.NOTICE_AUTHOR)


@pytest.fixture
def support(make_user: Callable[..., User]) -> User:
    return make_user("support", roles.SUPPORT_STAFF)
