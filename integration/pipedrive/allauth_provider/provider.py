"""django-allauth provider for Pipedrive ("Continue with Pipedrive").

Base URLs come from settings.PIPEDRIVE_OAUTH_BASE_URL, so the same provider works against the
local sandbox and oauth.pipedrive.com. Client id and secret: SOCIALACCOUNT_PROVIDERS["pipedrive"].
Docs: https://pipedrive.readme.io/docs/marketplace-oauth-authorization ,
https://docs.allauth.org/en/latest/socialaccount/providers/index.html
"""

from __future__ import annotations

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from django.urls import reverse

from integration.pipedrive.allauth_provider.views import PipedriveOAuth2Adapter

ACCOUNT_DATA_KEYS = ("id", "name", "email", "company_id", "company_name", "company_domain", "locale", "timezone_name")


def account_extra_data(data: dict) -> dict:
    """What allauth's SocialAccount keeps of users/me: identity only, never tokens."""
    return {key: data.get(key) for key in ACCOUNT_DATA_KEYS}


def social_uid(*, company_id: int, user_id: int) -> str:
    """Pipedrive identities are (company, user): the same person in two companies is two grants."""
    return f"{int(company_id)}:{int(user_id)}"


class PipedriveAccount(ProviderAccount):
    def to_str(self) -> str:
        data = self.account.extra_data or {}
        company = data.get("company_name") or data.get("company_id") or ""
        return f"{data.get('email') or data.get('name') or self.account.uid} ({company})"


class PipedriveProvider(OAuth2Provider):
    id = "pipedrive"
    name = "Pipedrive"
    account_class = PipedriveAccount
    oauth2_adapter_class = PipedriveOAuth2Adapter

    def get_callback_url(self):
        return reverse("pipedrive:callback")

    def get_default_scope(self):
        # Scopes are set on the app in Developer Hub; the authorize request carries none.
        return []

    def get_redirect_from_request_kwargs(self, request):
        kwargs = super().get_redirect_from_request_kwargs(request)
        kwargs.setdefault("next_url", reverse("tenants:settings"))
        return kwargs

    def extract_uid(self, data):
        return social_uid(company_id=data["company_id"], user_id=data["id"])

    def extract_common_fields(self, data):
        return {"email": data.get("email"), "name": data.get("name") or ""}

    def extract_extra_data(self, data):
        return account_extra_data(data)


provider_classes = [PipedriveProvider]
