"""The tenant (Company), its people (User, Membership) and its invoice field mapping."""

from __future__ import annotations

import re
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.managers import CompanyScopedManager, UserManager

CUSTOM_FIELD_KEY = re.compile(r"^[0-9a-f]{40}$")


class User(AbstractUser):
    """A person who signs in: a Pipedrive user, or our support staff."""

    username = None  # type: ignore[assignment]  # the stubs can't express removing AbstractUser's field
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs type AbstractUser.objects as auth's username-based UserManager; ours signs in by email.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        """How the product names a person to others: the Pipedrive name, else the email (the one place)."""
        return self.name or self.email


class Company(models.Model):
    """A Pipedrive company that installed the app: the tenant."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        UNINSTALLED = "uninstalled", _("Uninstalled")

    class InvoiceVisibility(models.TextChoices):
        OWNER_ONLY = "owner_only", _("Only the QuickBooks connection owner")
        TEAM = "team", _("Every member of the company")

    pipedrive_company_id = models.BigIntegerField(_("Pipedrive company id"), unique=True)
    name = models.CharField(_("name"), max_length=255)
    domain = models.CharField(_("Pipedrive domain"), max_length=255, blank=True)
    api_domain = models.URLField(_("API domain"), blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    invoice_visibility = models.CharField(
        max_length=20, choices=InvoiceVisibility.choices, default=InvoiceVisibility.OWNER_ONLY
    )
    # Off: each member reads Pipedrive with their own authorisation, so they see only the deals
    # Pipedrive lets them see. On: a member who never installed the app reads with an admin's
    # installation (another member's token), which can show deals hidden from them in Pipedrive.
    pipedrive_token_sharing = models.BooleanField(
        _("members without their own installation read Pipedrive with an admin's"), default=False
    )
    # Issue 13: a note on the deal when an invoice is created, paid, voided or deleted (invoices/deal_notes.py).
    deal_notes = models.BooleanField(_("write a note on the deal for each invoice event"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pipedrive_company_id})"


class TenantModel(models.Model):
    """Base for rows owned by one company. `objects` fails closed outside a company scope."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")

    objects = CompanyScopedManager()
    # UNSCOPED: every company's rows. Support/admin code and Django internals only.
    all_companies = models.Manager()  # noqa: DJ012 (ruff reads a second manager as a field)

    class Meta:
        abstract = True
        default_manager_name = "all_companies"


class Membership(TenantModel):
    """A user's seat in a company, as known to Pipedrive."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    pipedrive_user_id = models.BigIntegerField(_("Pipedrive user id"))
    is_admin = models.BooleanField(_("Pipedrive admin"), default=False)
    # What Pipedrive's users/me says, refreshed at each install and sign-in: `language` as a tag
    # ("uk-UA", from language.language_code + country_code) and `locale` (date/number formats, "uk_UA").
    pipedrive_language = models.CharField(_("Pipedrive language"), max_length=35, blank=True, default="")
    pipedrive_locale = models.CharField(_("Pipedrive locale"), max_length=35, blank=True, default="")
    # The user's own choice in Settings; blank follows Pipedrive (tenants/language.py).
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["company", "pipedrive_user_id"], name="membership_unique_pipedrive_user"),
            models.UniqueConstraint(fields=["company", "user"], name="membership_unique_user"),
        ]
        ordering = ["company_id", "id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company_id}"


class FieldMapping(TenantModel):
    """How a deal becomes an invoice: which Pipedrive field feeds each customer detail, and defaults."""

    class Entity(models.TextChoices):
        ORGANIZATION = "organization", _("Organization")
        PERSON = "person", _("Person")
        DEAL = "deal", _("Deal")

    class TaxMode(models.TextChoices):
        EXCLUSIVE = "exclusive", _("Tax excluded from prices")
        INCLUSIVE = "inclusive", _("Tax included in prices")
        NONE = "none", _("No tax")

    to_entity = models.CharField(max_length=20, choices=Entity.choices, default=Entity.ORGANIZATION)
    to_key = models.CharField(max_length=64, default="name")
    address_entity = models.CharField(max_length=20, choices=Entity.choices, default=Entity.ORGANIZATION)
    address_key = models.CharField(max_length=64, default="address")
    email_entity = models.CharField(max_length=20, choices=Entity.choices, default=Entity.PERSON)
    email_key = models.CharField(max_length=64, default="email")  # personFields' code (the v2 object's `emails`)
    tax_id_entity = models.CharField(max_length=20, choices=Entity.choices, blank=True, default="")
    tax_id_key = models.CharField(max_length=64, blank=True, default="")
    due_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text=_("Due date = issue date + N days"),
    )
    default_currency = models.CharField(max_length=3, blank=True, default="")
    default_tax_mode = models.CharField(max_length=20, choices=TaxMode.choices, default=TaxMode.EXCLUSIVE)
    default_income_account_id = models.CharField(max_length=32, blank=True, default="")
    send_after_create = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["company"], name="fieldmapping_one_per_company")]

    def __str__(self) -> str:
        return f"Field mapping of {self.company_id}"

    def clean(self) -> None:
        errors = {}
        for target in ("to", "address", "email", "tax_id"):
            entity = getattr(self, f"{target}_entity")
            key = getattr(self, f"{target}_key")
            if bool(entity) != bool(key):
                errors[f"{target}_key"] = _("Choose both the entity and the field, or neither.")
            elif key and not (CUSTOM_FIELD_KEY.match(key) or re.match(r"^[a-z][a-z0-9_]{0,63}$", key)):
                errors[f"{target}_key"] = _("Use a standard field name or a 40-character custom field key.")
        if self.default_currency and not re.match(r"^[A-Z]{3}$", self.default_currency):
            errors["default_currency"] = _("Use a three-letter ISO currency code, e.g. USD.")
        if errors:
            raise ValidationError(errors)


class AuditLog(models.Model):
    """A support action: who ran what, when, on which company, and how it ended.

    Bulk actions run as background jobs; the row is their progress record (status and counts)
    as well as the audit trail. Support-only and cross-company, so not a TenantModel.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, default="")  # kept if the user is deleted
    company = models.ForeignKey(Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=50, db_index=True)
    target_model = models.CharField(max_length=100, blank=True, default="")
    target_ids = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=2000, blank=True, default="")
    results = models.JSONField(default=list, blank=True)  # one entry per target: id, company, ok, message
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    UNSCOPED_REASON = "support audit trail: written and read by staff across companies"
    objects = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="auditlog_company_recent")]
        permissions = [("run_support_actions", "Can run the safe support actions (refresh, resync, retry, redeliver)")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_email or 'system'} ({self.status})"

    @property
    def done_count(self) -> int:
        return self.succeeded + self.failed
