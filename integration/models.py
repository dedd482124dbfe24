"""Records shared by both integrations."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import Company


class ApiCall(models.Model):
    """A bounded log of outbound calls for support: never a token, query string or body."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    service = models.CharField(max_length=20)  # quickbooks | pipedrive
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField()
    intuit_tid = models.CharField(max_length=100, blank=True, default="")
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Written by the HTTP layer and read by support across companies; never shown to tenants.
    UNSCOPED_REASON = "support-only call log, written by the HTTP layer"
    objects = models.Manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "-created_at"], name="apicall_company_recent")]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path} -> {self.status}"


class WebhookDelivery(models.Model):
    """An inbound webhook request, stored before anything else happens (never lost, re-deliverable).

    Unverified requests are not stored: they answer 401 and leave only a log line.
    """

    service = models.CharField(max_length=20)  # quickbooks | pipedrive
    body = models.BinaryField()
    content_type = models.CharField(max_length=100, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    # Pipedrive deliveries: the company whose webhook credentials they carried (the stale-delivery
    # sweep processes them for that company, never for one the payload merely names). QuickBooks
    # deliveries name realms in their events instead.
    company = models.ForeignKey(
        "tenants.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    # Spans companies (one notification can name several realms); support-only.
    UNSCOPED_REASON = "inbound webhook log: one delivery may concern several companies"
    objects = models.Manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.service} webhook {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class WebhookEvent(models.Model):
    """One change named by a delivery; `event_id` is unique so replays are processed once."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="events")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    event_id = models.CharField(max_length=200, unique=True)
    realm_id = models.CharField(max_length=32, db_index=True)
    entity = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=32)
    operation = models.CharField(max_length=20)
    occurred_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    UNSCOPED_REASON = "written before the company is known (resolved from the realm)"
    objects = models.Manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id} {self.operation} (realm {self.realm_id})"
