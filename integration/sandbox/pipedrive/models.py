"""State of the Pipedrive sandbox, in the database so every process (web, worker, tests) shares it.

Entities are stored as their API v2 JSON document (`SandboxRecord.data`), so what the API returns
is exactly what was seeded or edited; only the keys the sandbox filters on are real columns.
These are simulator tables, not tenant data of ours: they are not `TenantModel`s.
"""

from __future__ import annotations

from django.db import models


class Plan(models.TextChoices):
    """Pipedrive's plans (reference §2.5: Lite, Growth, Premium, Ultimate)."""

    LITE = "lite"
    GROWTH = "growth"
    PREMIUM = "premium"
    ULTIMATE = "ultimate"


class SandboxCompany(models.Model):
    """A Pipedrive company (the `company_id` of users/me) with its API host path and rate budget."""

    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=255)
    domain = models.SlugField(max_length=100, unique=True)  # `company_domain`, the subdomain in api_domain
    country = models.CharField(max_length=2, default="US")
    industry = models.CharField(max_length=100, blank=True)
    # Burst limit per access token in a rolling 2-second window (Growth plan OAuth app: 160).
    burst_limit = models.PositiveIntegerField(default=160)
    # Daily token budget per company (30,000 x plan multiplier x seats); `x-token-cost` is charged per call.
    daily_budget = models.PositiveIntegerField(default=120_000)
    budget_used = models.PositiveIntegerField(default=0)
    budget_day = models.DateField(null=True, blank=True)
    # Test control: when set (e.g. 503), every API call of this company answers it (an outage).
    api_outage_status = models.PositiveSmallIntegerField(default=0)
    # The subscription plan: some API features (deal installments) are "only available in Growth and
    # above plans" (v2 spec, DealInstallments).
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.GROWTH)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class SandboxUser(models.Model):
    """A Pipedrive user of one company."""

    id = models.BigIntegerField(primary_key=True)
    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="users")
    name = models.CharField(max_length=255)
    email = models.EmailField()
    is_admin = models.BooleanField(default=False)
    default_currency = models.CharField(max_length=3, default="USD")
    locale = models.CharField(max_length=20, default="en_US")
    # users/me `language` (language_code + country_code), apart from `locale` as in Pipedrive: the
    # spec's example is language en-US with locale et_EE.
    language = models.CharField(max_length=20, default="en_US")
    timezone_name = models.CharField(max_length=64, default="America/New_York")
    timezone_offset = models.CharField(max_length=6, default="-05:00")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email


class SandboxAuthCode(models.Model):
    """An authorization code: single use, valid 5 minutes, bound to the redirect_uri it was issued for."""

    code = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=500)
    scopes = models.CharField(max_length=500)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.user_id} (used: {bool(self.used_at)})"


class SandboxGrant(models.Model):
    """One user's authorization of the app in one company; holds the (non-rotating) refresh token."""

    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="grants")
    refresh_token = models.CharField(max_length=200, unique=True)
    scopes = models.CharField(max_length=500)
    refresh_expires_at = models.DateTimeField()  # 60 days after the last use
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"grant of user {self.user_id}"


class SandboxAccessToken(models.Model):
    """A 60-minute bearer token, with the counters of its rolling 2-second burst window."""

    token = models.CharField(max_length=300, unique=True)
    grant = models.ForeignKey(SandboxGrant, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"access token of grant {self.grant_id}"


class SandboxRecord(models.Model):
    """A deal, person, organization, product or deal product, as its API v2 JSON object."""

    class Kind(models.TextChoices):
        DEAL = "deal"
        PERSON = "person"
        ORGANIZATION = "organization"
        PRODUCT = "product"
        DEAL_PRODUCT = "deal_product"
        NOTE = "note"

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    parent_id = models.BigIntegerField(null=True, blank=True)  # deal id of a deal product
    data = models.JSONField()

    class Meta:
        ordering = ["company", "kind", "object_id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "object_id"], name="pd_sandbox_record_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} of {self.company_id}"


class SandboxField(models.Model):
    """A field definition as returned by the v2 *Fields endpoints (custom fields have 40-hex codes)."""

    class Entity(models.TextChoices):
        DEAL = "deal"
        PERSON = "person"
        ORGANIZATION = "organization"
        PRODUCT = "product"

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="fields")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    order = models.PositiveIntegerField()
    field_code = models.CharField(max_length=100)
    data = models.JSONField()

    class Meta:
        ordering = ["company", "entity", "order"]
        constraints = [
            models.UniqueConstraint(fields=["company", "entity", "field_code"], name="pd_sandbox_field_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} field {self.field_code}"


class SandboxInvoiceProviderLink(models.Model):
    """A link registered by `POST /api/v1/invoice/user/provider` (invoicing app extension)."""

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    link_id = models.CharField(max_length=100)
    org_id = models.CharField(max_length=100, blank=True)
    marketplace_client_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"invoice link {self.link_id}"


class SandboxUninstallDelivery(models.Model):
    """What the uninstall control sent to the app's callback and what came back (shown on the control page)."""

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    url = models.CharField(max_length=500)
    body = models.JSONField()
    status = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"uninstall of {self.user_id} -> {self.status or self.error}"


class SandboxWebhook(models.Model):
    """An app webhook registered with `POST /api/v1/webhooks` (type "application")."""

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="webhooks")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    subscription_url = models.CharField(max_length=500)
    event_action = models.CharField(max_length=20)
    event_object = models.CharField(max_length=20)
    version = models.CharField(max_length=3, default="2.0")
    name = models.CharField(max_length=255)
    http_auth_user = models.CharField(max_length=255, blank=True, default="")
    http_auth_password = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"webhook {self.pk} {self.event_action}.{self.event_object} -> {self.subscription_url}"


class SandboxWebhookDelivery(models.Model):
    """One webhook POST: queued by a change, sent after the API call that made it (outside its lock)."""

    webhook = models.ForeignKey(SandboxWebhook, on_delete=models.CASCADE, related_name="deliveries")
    body = models.JSONField()
    status = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"delivery {self.pk} of webhook {self.webhook_id} -> {self.status}"


class SandboxNote(models.Model):
    """A note attached to a deal (`POST /api/v1/notes`), content as HTML after sanitization."""

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="notes")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="+")
    deal_id = models.BigIntegerField()
    content = models.TextField()
    pinned_to_deal_flag = models.BooleanField(default=False)
    add_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"note {self.pk} on deal {self.deal_id}"


class SandboxInstallment(models.Model):
    """A deal installment (API v2 DealInstallments): an amount billed on a date. Ids are global, like Pipedrive's."""

    company = models.ForeignKey(SandboxCompany, on_delete=models.CASCADE, related_name="installments")
    deal_id = models.BigIntegerField()
    description = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    billing_date = models.DateField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["company", "deal_id"], name="pd_sandbox_installment_deal")]

    def __str__(self) -> str:
        return f"installment {self.pk} of deal {self.deal_id}: {self.amount} on {self.billing_date}"
