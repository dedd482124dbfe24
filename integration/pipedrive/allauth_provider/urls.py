"""Only the login start lives under /accounts/pipedrive/: Pipedrive allows one callback URL per app,
so the OAuth redirect comes back to `/pipedrive/callback` (integration.pipedrive.views.callback)."""

from django.urls import include, path

from integration.pipedrive.allauth_provider.provider import PipedriveProvider
from integration.pipedrive.allauth_provider.views import oauth2_login

urlpatterns = [
    path(f"{PipedriveProvider.get_slug()}/", include([path("login/", oauth2_login, name="pipedrive_login")])),
]
