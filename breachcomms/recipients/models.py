"""Customers of an incident, the keys that identify them, and the imports that load them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.numbers import grouped
from breachcomms.incidents.categories import codes_in
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import RiskTier


class Customer(models.Model):
    """One affected person. Rows of an import that share an email or a phone merge into one.

    A customer is found by its email (case-insensitive: ``lower(email)``), its phone and its first
    external reference through indexes on this table (migration 0003; hash indexes on
    PostgreSQL), and by any other email, phone or reference it was known by through its
    ``CustomerKey`` rows. ``selectors.customer_search`` does both.
    """

    # No database constraint and no index of its own: a million-customer import should not pay
    # for a per-row foreign-key check, the import itself checks the incident, deletion goes
    # through the ORM's cascade, and customer_segment_idx (incident first) serves every lookup.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="customers", db_constraint=False, db_index=False
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=16, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    subdivision = models.CharField(_("subdivision"), max_length=6, blank=True, help_text="ISO 3166-2, e.g. US-CA")
    locale = models.CharField(_("locale"), max_length=35, help_text="BCP 47, e.g. sv-SE")
    language = models.CharField(_("language"), max_length=8, help_text=_("The locale's language, e.g. sv"))
    time_zone = models.CharField(_("time zone"), max_length=64, help_text="IANA, e.g. Europe/Stockholm")
    external_refs = models.JSONField(_("external references"), default=list, blank=True)
    accounts = models.JSONField(_("accounts"), default=list, blank=True)
    exposure_flags = models.BigIntegerField(_("exposed categories"), default=0)
    risk_tier = models.CharField(_("risk tier"), max_length=8, choices=RiskTier.choices, default=RiskTier.LOW)
    risk_basis_flags = models.BigIntegerField(
        _("risk basis"), default=0, help_text=_("The exposed categories that decided the tier.")
    )
    attributes = models.JSONField(_("other attributes"), default=dict, blank=True)
    # The database's own default as well: a first import's COPY leaves both out (parsing a
    # timestamp per row cost PostgreSQL about a second per million rows).
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            # Segment counts read it alone (an index-only scan); the loose scan for an incident's
            # countries skips along it. Language and tier are carried, not sorted on: as key columns
            # they cost a million-row import about a second more of index upkeep.
            models.Index(fields=["incident", "country"], include=["language", "risk_tier"], name="customer_segment_idx")
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone

    @property
    def exposures(self) -> list[str]:
        return codes_in(self.exposure_flags)

    @property
    def risk_basis(self) -> list[str]:
        return codes_in(self.risk_basis_flags)


class CustomerKey(models.Model):
    """Another email, phone or external reference a customer is known by, besides its own.

    A customer's own email, phone and first reference are found through indexes on the customer
    table; these rows hold the rest (addresses of rows merged into it, further references), so
    merging and support lookups find a customer by everything it was ever known by. Emails are
    stored as ``lower(email)``, phones in E.164.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        REFERENCE = "ref", _("Customer reference")

    # No database constraint on incident: the customer's own foreign key already implies it, and a
    # million-key import should not pay for a second check per row.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=254)

    class Meta:
        constraints = [
            # An email or phone belongs to one customer of an incident; references may be shared.
            models.UniqueConstraint(
                fields=["incident", "kind", "value"],
                condition=models.Q(kind__in=["email", "phone"]),
                name="customer_contact_key_unique",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "value"], condition=models.Q(kind="ref"), name="customer_reference_once"
            ),
        ]
        # Emails and phones are found through the unique index above; references through this one.
        indexes = [
            models.Index(
                fields=["incident", "kind", "value"], condition=models.Q(kind="ref"), name="customer_reference_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomerImport(models.Model):
    """One uploaded file of customers and what became of its rows."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(_("phase"), max_length=64, blank=True)
    encoding = models.CharField(
        _("encoding"),
        max_length=32,
        default="utf-8",
        help_text=_("The encoding the uploaded file was in; other than UTF-8, it was converted to UTF-8 on upload."),
    )
    size_bytes = models.BigIntegerField(_("size"), default=0)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    rows_read = models.IntegerField(_("rows"), default=0)
    customers_created = models.IntegerField(_("new customers"), default=0)
    rows_merged = models.IntegerField(_("merged rows"), default=0)
    rows_rejected = models.IntegerField(_("rejected rows"), default=0)
    warnings = models.IntegerField(_("warnings"), default=0)
    error = models.TextField(_("error"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")

    def __str__(self) -> str:
        return self.original_name

    @property
    def summary(self) -> str:
        """The one-line result the command prints (counts as plain digits, for scripts that read it)."""
        return self._summary(str)

    @property
    def summary_display(self) -> str:
        """The same line for pages: counts grouped the reader's way (4,951 in English, 4 951 in Swedish)."""
        return self._summary(grouped)

    def _summary(self, number: Callable[[int], str]) -> str:
        return gettext(
            "imported %(created)s customers from %(rows)s rows: "
            "%(merged)s merged, %(rejected)s rejected, %(warnings)s warnings"
        ) % {
            "created": number(self.customers_created),
            "rows": number(self.rows_read),
            "merged": number(self.rows_merged),
            "rejected": number(self.rows_rejected),
            "warnings": number(self.warnings),
        }

    @property
    def percent_done(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.size_bytes:
            return 0
        return min(99, int(100 * self.bytes_read / self.size_bytes))


class ImportIssue(models.Model):
    """A rejected row (error) or a dropped value (warning), with the file's line number."""

    class Severity(models.TextChoices):
        ERROR = "error", _("Rejected row")
        WARNING = "warning", _("Warning")

    customer_import = models.ForeignKey(CustomerImport, on_delete=models.CASCADE, related_name="issues")
    line = models.IntegerField(_("line"))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    field = models.CharField(_("field"), max_length=64, blank=True)
    message = models.TextField(_("message"))
    value = models.CharField(_("value"), max_length=200, blank=True)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["customer_import", "line"], name="import_issue_line_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class Enrolment(models.Model):
    """A customer's enrolment in a programme the incident offers (credit monitoring), imported from
    the programme provider's list. Follow-ups remind those not yet enrolled."""

    class Program(models.TextChoices):
        CREDIT_MONITORING = "credit_monitoring", _("Credit monitoring")
        IDENTITY_PROTECTION = "identity_protection", _("Identity theft protection")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="enrolments")
    # The unique constraint below starts with the customer: it serves "is this customer enrolled".
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="enrolments", db_index=False, verbose_name=_("customer")
    )
    program = models.CharField(
        _("programme"), max_length=32, choices=Program.choices, default=Program.CREDIT_MONITORING
    )
    enrolled_at = models.DateTimeField(_("enrolled at"))
    source = models.CharField(_("source"), max_length=255, blank=True, help_text=_("The file it was imported from."))
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        ordering = ["-enrolled_at", "id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["customer", "program"], name="enrolment_once_per_program")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.program}"
