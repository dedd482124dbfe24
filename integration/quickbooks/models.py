"""A company's QuickBooks Online connection, and the single-use OAuth state of a connect flow."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.fields import EncryptedTextField
from tenants.models import Membership, TenantModel, User


class QuickBooksConnection(TenantModel):
    """The company's link to one QBO company (realm). Tokens are encrypted and never shown.

    At most one live (active or needs_reconnect) connection per company, enforced by the database.
    A disconnected row stays as history (without tokens) and is revived if the same realm is
    connected again, so invoices keep pointing at it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
        DISCONNECTED = "disconnected", _("Disconnected")

    class TaxModel(models.TextChoices):
        US = "us", _("US sales tax (TAX/NON)")
        GLOBAL = "global", _("Tax codes per line (non-US)")

    LIVE_STATUSES = (Status.ACTIVE, Status.NEEDS_RECONNECT)

    owner = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="quickbooks_connections"
    )
    realm_id = models.CharField(_("QuickBooks company id (realm)"), max_length=32)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)

    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_hard_expires_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)

    # Company info cache, read from CompanyInfo and Preferences at connect time.
    company_name = models.CharField(max_length=255, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    home_currency = models.CharField(max_length=3, blank=True, default="")
    multicurrency_enabled = models.BooleanField(default=False)
    tax_model = models.CharField(max_length=10, choices=TaxModel.choices, default=TaxModel.US)
    using_sales_tax = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, blank=True, default="")

    # The id Pipedrive's invoicing extension knows this connection by.
    link_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    link_registered_at = models.DateTimeField(null=True, blank=True)
    cdc_cursor = models.DateTimeField(null=True, blank=True)

    connected_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    needs_reconnect_since = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("QuickBooks connection")
        verbose_name_plural = _("QuickBooks connections")
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(status__in=["active", "needs_reconnect"]),
                name="qbo_one_live_connection_per_company",
            ),
            models.UniqueConstraint(fields=["company", "realm_id"], name="qbo_connection_unique_realm_per_company"),
        ]
        ordering = ["company_id", "-connected_at"]

    def __str__(self) -> str:
        return f"QuickBooks {self.realm_id} of {self.company_id} ({self.status})"


class OAuthState(TenantModel):
    """A connect attempt: the `state` we sent to Intuit, bound to company + user, used once."""

    state_hash = models.CharField(max_length=64, unique=True)  # sha256 of the state; the state itself is not kept
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["expires_at"], name="qbo_oauthstate_expiry")]
        verbose_name = _("OAuth state")
        verbose_name_plural = _("OAuth states")

    def __str__(self) -> str:
        return f"OAuth state of {self.user_id} @ {self.company_id}"
