"""A Pipedrive installation: one user's OAuth grant of the app in one company.

Pipedrive authorizes per user *and* per company ("authorization is user-based, not
company-based"), so a company can hold several installations, one per Pipedrive user.
https://pipedrive.readme.io/docs/app-sharing-adding-apps-to-multiple-users
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.fields import EncryptedTextField
from tenants.models import Membership, TenantModel

# Refresh a little before Pipedrive's 60-minute expiry so a call never starts with a dying token.
EXPIRY_MARGIN = timedelta(seconds=60)


class PipedriveInstallation(TenantModel):
    """The tokens of one (company, Pipedrive user) grant. Tokens are encrypted at rest."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="pipedrive_installations")
    pipedrive_user_id = models.BigIntegerField(_("Pipedrive user id"))
    # Pipedrive advises at least varchar(768) for access tokens and says they grow; TextField has no limit.
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    access_expires_at = models.DateTimeField()
    scopes = models.CharField(max_length=1000, blank=True, default="")
    api_domain = models.URLField(_("API domain"))
    installed_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["company", "pipedrive_user_id"], name="pipedrive_installation_unique_company_user"
            ),
        ]
        ordering = ["company_id", "id"]

    def __str__(self) -> str:
        return f"Pipedrive installation of user {self.pipedrive_user_id} in company {self.company_id}"

    def access_token_is_fresh(self, *, now=None) -> bool:
        return self.access_expires_at > (now or timezone.now()) + EXPIRY_MARGIN

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.replace(" ", ",").split(",") if scope]
