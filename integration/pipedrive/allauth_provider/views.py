"""The allauth OAuth2 adapter for Pipedrive. Only the redirect half runs through allauth's views;
the callback is our `/pipedrive/callback`, which also serves Marketplace-started installs."""

from __future__ import annotations

from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter, OAuth2LoginView
from django.conf import settings
from django.urls import reverse

from integration.pipedrive import oauth


def callback_url() -> str:
    """The one Callback URL registered in Developer Hub (also the uninstall DELETE target)."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('pipedrive:callback')}"


class PipedriveOAuth2Adapter(OAuth2Adapter):
    provider_id = "pipedrive"
    login_cancelled_error = "user_denied"
    basic_auth = True  # Pipedrive wants client credentials as HTTP Basic, not in the body

    @property
    def authorize_url(self) -> str:
        return oauth.authorize_url()

    @property
    def access_token_url(self) -> str:
        return f"{settings.PIPEDRIVE_OAUTH_BASE_URL.rstrip('/')}/token"

    def get_callback_url(self, request, app):
        return callback_url()


oauth2_login = OAuth2LoginView.adapter_view(PipedriveOAuth2Adapter)
