"""python manage.py demo_setup: demo users, a demo incident and its affected customers.

Idempotent: run it as often as you like. Passwords are random, made on first run and kept in
``var/demo-credentials.txt`` (readable only by you), so every run prints the same working logins.
"""

from __future__ import annotations

import io
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from breachcomms.core import roles
from breachcomms.core.progress import TerminalProgress
from breachcomms.followups.models import FollowUp
from breachcomms.followups.services import follow_up_create
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.notices.services import campaign_ensure_initial
from breachcomms.recipients.models import CustomerImport
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.synthetic import write_customers_csv

DEMO_USERS: dict[str, str] = {
    "commander": roles.INCIDENT_COMMANDER,
    "author": roles.NOTICE_AUTHOR,
    "support": roles.SUPPORT_STAFF,
}
DEMO_URL = "http://127.0.0.1:8000/admin/"
DEMO_TITLE = "Unauthorised access to customer database"
DEMO_SEED = 2024  # the same customers on every machine
DEMO_DESCRIPTION = """\
On the evening of discovery, our security monitoring flagged unusual queries against the customer \
database from a support-tool account. The investigation found that an attacker had used the \
account's stolen credentials to export customer records over several days. The account was locked \
and its sessions revoked within an hour; an external forensics firm is confirming the scope.

Exposed for the affected customers: names, email addresses and phone numbers, and for some \
customers postal addresses, dates of birth, national identity numbers, hashed passwords and the \
last digits and expiry of payment cards. No full card numbers or account balances were accessed.

Expect phishing that copies our notices. We will never ask for passwords, codes or card numbers, \
and every genuine notice carries a reference code that can be checked on our website."""


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def read_credentials() -> dict[str, str]:
    """username → password from the credentials file, or {} if there is none."""
    path = credentials_path()
    if not path.is_file():
        return {}
    lines = (line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines())
    return {parts[0]: parts[1].strip() for parts in lines if len(parts) == 2 and not parts[0].startswith("#")}


def _write_credentials(credentials: dict[str, str]) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Demo logins for http://127.0.0.1:8000/admin/ (made by manage.py demo_setup)\n"
    text += "".join(f"{username} {password}\n" for username, password in credentials.items())
    # Owner-only from the start: the file holds working passwords.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)


def demo_users_ensure() -> dict[str, str]:
    """Create the demo users once; returns username → password, as stored in the file."""
    stored = read_credentials()
    credentials: dict[str, str] = {}
    for username, role in DEMO_USERS.items():
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist:
            raise CommandError(f"the group {role!r} is missing: run `manage.py migrate` first") from None
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        password = stored.get(username)
        if created or password is None:
            # A new user takes the stored password if the file survived a database reset; a lost
            # file means nobody knows the password any more, so it is reset.
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = True
            user.save(update_fields=["password", "is_staff"])
        user.groups.add(group)
        credentials[username] = password
    if credentials != stored:
        _write_credentials(credentials)
    return credentials


def _incident_create(commander: User) -> Incident:
    now = timezone.now().replace(second=0, microsecond=0)
    return Incident.objects.create(
        title=DEMO_TITLE,
        organization="Northwind Outfitters",
        description=DEMO_DESCRIPTION,
        severity=Incident.Severity.HIGH,
        occurred_at=now - timedelta(days=9, hours=2),
        discovered_at=now - timedelta(days=2, hours=7),
        aware_at=now - timedelta(days=2, hours=5),
        determined_at=now - timedelta(days=1, hours=3),
        data_categories=[
            "name",
            "email",
            "phone",
            "address",
            "date_of_birth",
            "national_id",
            "password",
            "payment_card",
        ],
        default_locale="en",
        support_phone="+44 20 7946 0000",
        support_email="security@example.com",
        sender_name="Northwind Outfitters Security",
        sender_email="security@example.com",
        support_website="https://www.example.com/security-incident",
        allowed_link_domains=["example.com", "example.net"],
        created_by=commander,
    )


def _customers_import(incident: Incident, customers: int, uploaded_by: User) -> CustomerImport:
    """Import synthetic customers through the same services as an uploaded file."""
    data = io.BytesIO()
    text = io.TextIOWrapper(data, encoding="utf-8", newline="", write_through=True)
    write_customers_csv(text, customers, seed=DEMO_SEED)
    text.detach()
    data.seek(0)
    customer_import = customer_import_create(
        incident=incident, stream=data, name="affected-customers.csv", uploaded_by=uploaded_by
    )
    progress = TerminalProgress("importing demo customers", unit="bytes")
    customer_import_run(customer_import_id=customer_import.id, progress=progress)
    progress.finish()
    return CustomerImport.objects.get(id=customer_import.id)


def _follow_ups_ensure(incident: Incident, commander: User) -> None:
    """A reminder a week after the initial notice goes out and the three-part security-tips series,
    both waiting for the initial campaign's first launch (the demo's newcomer launches it)."""
    campaign_ensure_initial(incident_id=incident.pk)  # usually made already, once the incident was saved
    initial = Campaign.objects.filter(incident=incident, kind=Campaign.Kind.INITIAL).order_by("id").first()
    if initial is None or FollowUp.objects.filter(incident=incident).exists():
        return
    anchor = {"anchor": FollowUp.Anchor.FIRST_LAUNCH, "base_campaign": initial}
    follow_up_create(
        incident=incident,
        name="Reminder to those not yet reached",
        user=commander,
        kind=FollowUp.Kind.FOLLOW_UP,
        offset_days=7,
        audience_kind=FollowUp.AudienceKind.NOT_DELIVERED,
        **anchor,
    )
    follow_up_create(
        incident=incident,
        name="Security tips",
        user=commander,
        kind=FollowUp.Kind.SECURITY_TIPS,
        offset_days=30,
        repeat_count=3,
        repeat_every_days=30,
        audience_kind=FollowUp.AudienceKind.NOTIFIED,
        **anchor,
    )


class Command(BaseCommand):
    help = "Create the demo users, a demo incident and its synthetic affected customers (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5_000, help="synthetic customers to import (first run)")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            credentials = demo_users_ensure()
            commander = User.objects.get(username="commander")
            incident = Incident.objects.filter(title=DEMO_TITLE).order_by("id").first()
            if incident is None:
                incident = _incident_create(commander)
        done = incident.imports.filter(status=CustomerImport.Status.DONE).order_by("id").first()
        if done is None:
            done = _customers_import(incident, options["customers"], commander)
        _follow_ups_ensure(incident, commander)
        self.stdout.write(f"Demo incident #{incident.id}: {incident.title}")
        self.stdout.write(f"Customers: {incident.customers.count():,} ({done.summary})")
        self._print_logins(credentials)

    def _print_logins(self, credentials: dict[str, str]) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Open {DEMO_URL} and log in as:"))
        for username, password in credentials.items():
            self.stdout.write(f"  {username:<10} {password:<20} {DEMO_USERS[username]}")
        self.stdout.write(f"(kept in {credentials_path()})")
