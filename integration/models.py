"""Records shared by both integrations."""

from django.db import models

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
