"""Pipedrive OAuth runs through requests-oauthlib (issue 11) and keeps our session's rules."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from integration.models import ApiCall
from integration.pipedrive import tokens
from integration.pipedrive.models import PipedriveInstallation
from tests.integration.oauth_wire import assert_a_library_token_call
from tests.integration.pipedrive.flows import install


def test_pipedrive_install_exchange_and_refresh_go_through_an_oauth2_session(pd_live, browser, wire):
    from integration.pipedrive.allauth_provider.views import callback_url

    assert install(browser, pd_live, user_id=11, via="marketplace").status_code == 302
    installation = PipedriveInstallation.all_companies.select_related("company").get(pipedrive_user_id=11)
    PipedriveInstallation.all_companies.filter(pk=installation.pk).update(access_expires_at=timezone.now())
    installation.refresh_from_db()
    old_access = installation.access_token
    assert tokens.access_token(installation=installation) != old_access

    token_url = f"{settings.PIPEDRIVE_OAUTH_BASE_URL.rstrip('/')}/token"
    calls = [call for call in wire if call.request.url == token_url]
    assert [call.form["grant_type"][0] for call in calls] == ["authorization_code", "refresh_token"]
    for call in calls:
        assert_a_library_token_call(
            call,
            client_id=settings.PIPEDRIVE_CLIENT_ID,
            client_secret=settings.PIPEDRIVE_CLIENT_SECRET,
            grant_type=call.form["grant_type"][0],
            timeout=settings.HTTP_TIMEOUT_SECONDS,
        )
    exchange, refresh = calls
    assert exchange.form["redirect_uri"] == [callback_url()]
    assert refresh.form["refresh_token"] == [installation.refresh_token]
    # What the library parsed is what we stored: the scope string as Pipedrive wrote it, the expiry.
    stored = PipedriveInstallation.all_companies.get(pk=installation.pk)
    assert stored.access_token != old_access and "," in stored.scopes and " " not in stored.scopes
    assert stored.access_expires_at > timezone.now() + timedelta(minutes=55)
    token_path = urlsplit(token_url).path
    assert ApiCall.objects.filter(company=installation.company, path=token_path, status=200).count() == 1  # refresh
