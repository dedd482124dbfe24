"""State of the QuickBooks sandbox, kept in the database so web and worker processes share it.

Entities are stored as the JSON body QBO would return (minus the volatile envelope), which
keeps the simulator close to the wire format and lets the query language work on real keys.
Nothing here is tenant data of ours: the sandbox plays Intuit.
"""

from __future__ import annotations

from django.db import models


class SandboxClock(models.Model):
    """One row: how far the sandbox's clock runs ahead of real time (tests advance it)."""

    offset_seconds = models.FloatField(default=0)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"sandbox clock {self.offset_seconds:+.0f}s"


class SandboxRealm(models.Model):
    """A simulated QuickBooks company (realm)."""

    class WebhookFormat(models.TextChoices):
        LEGACY = "legacy", "legacy eventNotifications"
        CLOUDEVENTS = "cloudevents", "CloudEvents array"
        OFF = "off", "no webhooks"

    realm_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    home_currency = models.CharField(max_length=3)
    multicurrency = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, default="America/Los_Angeles")
    webhook_format = models.CharField(max_length=12, choices=WebhookFormat.choices, default=WebhookFormat.LEGACY)
    next_id = models.PositiveIntegerField(default=1000)
    next_doc_number = models.PositiveIntegerField(default=1001)
    # Home-currency units per 1 foreign unit, e.g. {"EUR": "0.86"} in a GBP company.
    exchange_rates = models.JSONField(default=dict, blank=True)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"{self.name} ({self.realm_id})"


class SandboxEntity(models.Model):
    """One QBO object (Customer, Invoice, ...) as its JSON body; deleted ones stay as stubs for CDC."""

    realm = models.ForeignKey(SandboxRealm, on_delete=models.CASCADE, related_name="entities")
    entity = models.CharField(max_length=40)  # canonical QBO name: "Invoice", "Customer", ...
    qbo_id = models.CharField(max_length=40)
    data = models.JSONField()
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField()  # sandbox clock, for CDC

    UNSCOPED_REASON = "sandbox state, not tenant data"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["realm", "entity", "qbo_id"], name="qbo_sandbox_entity_uniq")]
        indexes = [models.Index(fields=["realm", "entity", "updated_at"], name="qbo_sandbox_entity_cdc")]

    def __str__(self) -> str:
        return f"{self.entity} {self.qbo_id} in {self.realm_id}"


class SandboxApp(models.Model):
    """An OAuth grant: one app connected to one realm. Revoking it kills all its tokens."""

    realm = models.ForeignKey(SandboxRealm, on_delete=models.CASCADE, related_name="grants")
    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=500, default="com.intuit.quickbooks.accounting")
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"grant {self.pk} for realm {self.realm_id}"


class SandboxAuthCode(models.Model):
    code = models.CharField(max_length=100, unique=True)
    grant = models.ForeignKey(SandboxApp, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=1000)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"code for grant {self.grant_id}"


class SandboxToken(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access"
        REFRESH = "refresh"

    token = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    grant = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="tokens")
    expires_at = models.DateTimeField()
    # Rotation: a refresh token stays usable until the token that replaced it is used once.
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invalidated = models.BooleanField(default=False)
    used = models.BooleanField(default=False)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"{self.kind} token for grant {self.grant_id}"


class SandboxCall(models.Model):
    """Every request the sandbox served: rate limiting, in-flight counting and test assertions."""

    realm_id = models.CharField(max_length=32, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=10, default="api")  # api | token | revoke
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_id = models.CharField(max_length=100, blank=True, default="")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class SandboxReplay(models.Model):
    """The stored response of a write that carried `requestid`, replayed verbatim on a repeat."""

    realm = models.ForeignKey(SandboxRealm, on_delete=models.CASCADE)
    request_id = models.CharField(max_length=100)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    UNSCOPED_REASON = "sandbox state, not tenant data"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["realm", "request_id"], name="qbo_sandbox_replay_uniq")]

    def __str__(self) -> str:
        return f"replay {self.request_id}"


class SandboxFailure(models.Model):
    """An injected failure for the next `remaining` matching calls."""

    class Kind(models.TextChoices):
        UNAVAILABLE = "503"
        THROTTLE = "429"
        TIMEOUT = "timeout"
        RESET = "reset"  # perform the write, then drop the connection without a response

    realm_id = models.CharField(max_length=32, blank=True, default="")  # blank: any realm
    target = models.CharField(max_length=10, default="api")  # api | token
    kind = models.CharField(max_length=8, choices=Kind.choices)
    remaining = models.PositiveIntegerField(default=1)
    delay_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    def __str__(self) -> str:
        return f"{self.kind} x{self.remaining}"


class SandboxWebhookDelivery(models.Model):
    """A webhook notification the sandbox sent (or tried to send) to the app."""

    realm_id = models.CharField(max_length=32)
    format = models.CharField(max_length=12)
    body = models.TextField()
    signature = models.CharField(max_length=100)
    url = models.CharField(max_length=1000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    delivered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    UNSCOPED_REASON = "sandbox state, not tenant data"

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} to {self.url}"


class SandboxSigningKey(models.Model):
    """The RSA key that signs `id_token`s (openid scope); its public half is served at op/v1/jwks.

    Stored, not generated per process, so every web worker signs with the key the JWKS shows."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.kid
