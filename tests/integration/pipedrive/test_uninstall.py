"""Uninstall: Pipedrive's DELETE on our callback, sent by the sandbox over real HTTP."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone

from integration.models import ApiCall
from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.pipedrive import host_services
from integration.sandbox.pipedrive.models import SandboxGrant, SandboxUser
from tenants.models import Company, Membership
from tests.integration.pipedrive.flows import ACME, BOREALIS, install


@pytest.fixture
def acme_installed(pd_live, browser):
    """Alice and Bob of Acme both installed the app."""
    install(browser, pd_live, user_id=11, via="marketplace")
    browser.cookies.clear()
    install(browser, pd_live, user_id=12, via="marketplace")
    return Company.objects.get(pipedrive_company_id=ACME)


def installed_users(company) -> set[int]:
    return set(PipedriveInstallation.all_companies.filter(company=company).values_list("pipedrive_user_id", flat=True))


def qbo_connection(company) -> QuickBooksConnection:
    return QuickBooksConnection.all_companies.create(
        company=company,
        realm_id="9130350000000001",
        status=QuickBooksConnection.Status.ACTIVE,
        access_token="qbo-access-canary",
        refresh_token="qbo-refresh-canary",
        access_expires_at=timezone.now(),
    )


def test_uninstall_of_one_user_keeps_the_company(acme_installed):
    delivery = host_services.uninstall(user=SandboxUser.objects.get(pk=11))
    assert delivery.status == 200
    assert installed_users(acme_installed) == {12}
    acme_installed.refresh_from_db()
    assert acme_installed.status == Company.Status.ACTIVE
    # the member and their seat stay; only the tokens are gone
    assert Membership.all_companies.filter(company=acme_installed, pipedrive_user_id=11).exists()
    # we revoked the refresh token too (Pipedrive answers 200 even for an already revoked one)
    revokes = ApiCall.objects.filter(method="POST", path="/sandbox/pipedrive/oauth/revoke", company=acme_installed)
    assert revokes.count() == 1


def test_last_uninstall_marks_the_company_uninstalled_and_disconnects_quickbooks(acme_installed):
    connection = qbo_connection(acme_installed)
    host_services.uninstall(user=SandboxUser.objects.get(pk=11))
    connection.refresh_from_db()
    assert connection.status == QuickBooksConnection.Status.ACTIVE  # Bob still has the app
    delivery = host_services.uninstall(user=SandboxUser.objects.get(pk=12))
    assert delivery.status == 200
    assert installed_users(acme_installed) == set()
    acme_installed.refresh_from_db()
    assert acme_installed.status == Company.Status.UNINSTALLED
    connection.refresh_from_db()
    assert connection.status == QuickBooksConnection.Status.DISCONNECTED
    assert connection.access_token == "" and connection.refresh_token == ""


def test_uninstall_is_idempotent(acme_installed, pd_live):
    body = {"client_id": "sandbox-pipedrive-client-id", "company_id": ACME, "user_id": 11, "timestamp": "x"}
    auth = ("sandbox-pipedrive-client-id", "sandbox-pipedrive-client-secret")
    first = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
    second = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
    assert (first.status_code, first.json()["removed"]) == (200, True)
    assert (second.status_code, second.json()["removed"]) == (200, False)
    assert installed_users(acme_installed) == {12}


def test_ids_as_strings_are_accepted(acme_installed, pd_live):
    body = {"client_id": "sandbox-pipedrive-client-id", "company_id": str(ACME), "user_id": "12"}
    auth = ("sandbox-pipedrive-client-id", "sandbox-pipedrive-client-secret")
    response = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
    assert response.status_code == 200
    assert installed_users(acme_installed) == {11}


@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("sandbox-pipedrive-client-id", "wrong-secret"),
        ("someone-else", "sandbox-pipedrive-client-secret"),
        ("sandbox-pipedrive-client-id", ""),
    ],
    ids=["missing", "wrong-secret", "wrong-id", "empty-secret"],
)
def test_wrong_or_missing_credentials_change_nothing(acme_installed, pd_live, auth):
    body = {"client_id": "sandbox-pipedrive-client-id", "company_id": ACME, "user_id": 11}
    response = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert installed_users(acme_installed) == {11, 12}
    assert Company.objects.get(pk=acme_installed.pk).status == Company.Status.ACTIVE


def test_malformed_authorization_headers_are_401(acme_installed, pd_live):
    body = {"company_id": ACME, "user_id": 11}
    for header in ("Bearer abc", "Basic !!!not-base64", "Basic " + "c2FuZGJveA==", "Basic"):
        response = requests.delete(
            f"{pd_live}/pipedrive/callback", json=body, headers={"Authorization": header}, timeout=10
        )
        assert response.status_code == 401, header
    assert installed_users(acme_installed) == {11, 12}


def test_bad_body_is_400_and_changes_nothing(acme_installed, pd_live):
    auth = ("sandbox-pipedrive-client-id", "sandbox-pipedrive-client-secret")
    for body in ({}, {"company_id": "abc", "user_id": 11}, {"company_id": ACME}):
        response = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
        assert response.status_code == 400
    other_app = {"client_id": "another-app", "company_id": ACME, "user_id": 11}
    assert requests.delete(f"{pd_live}/pipedrive/callback", json=other_app, auth=auth, timeout=10).status_code == 400
    assert installed_users(acme_installed) == {11, 12}


def test_uninstall_for_company_b_leaves_company_a_alone(acme_installed, pd_live, browser):
    browser.cookies.clear()
    install(browser, pd_live, user_id=21, via="marketplace")
    borealis = Company.objects.get(pipedrive_company_id=BOREALIS)
    acme_connection = qbo_connection(acme_installed)
    # Borealis' user id with Acme's company id (or the reverse) matches no installation.
    auth = ("sandbox-pipedrive-client-id", "sandbox-pipedrive-client-secret")
    for company_id, user_id in ((ACME, 21), (BOREALIS, 11)):
        body = {"client_id": "sandbox-pipedrive-client-id", "company_id": company_id, "user_id": user_id}
        response = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
        assert response.json()["removed"] is False
    assert installed_users(acme_installed) == {11, 12}
    host_services.uninstall(user=SandboxUser.objects.get(pk=21))
    assert Company.objects.get(pk=borealis.pk).status == Company.Status.UNINSTALLED
    assert Company.objects.get(pk=acme_installed.pk).status == Company.Status.ACTIVE
    acme_connection.refresh_from_db()
    assert acme_connection.status == QuickBooksConnection.Status.ACTIVE


def test_reinstall_after_uninstall_reactivates_the_company(acme_installed, pd_live, browser):
    for user_id in (11, 12):
        host_services.uninstall(user=SandboxUser.objects.get(pk=user_id))
    assert Company.objects.get(pk=acme_installed.pk).status == Company.Status.UNINSTALLED
    browser.cookies.clear()
    response = install(browser, pd_live, user_id=11)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/")
    assert Company.objects.get(pk=acme_installed.pk).status == Company.Status.ACTIVE
    assert installed_users(acme_installed) == {11}
    assert SandboxGrant.objects.filter(user_id=11, revoked_at__isnull=True).count() == 1


def test_tokens_are_deleted_even_when_revoke_fails(acme_installed, pd_live, settings):
    settings.PIPEDRIVE_OAUTH_BASE_URL = f"{pd_live}/sandbox/pipedrive/oauth-is-down"
    body = {"client_id": "sandbox-pipedrive-client-id", "company_id": ACME, "user_id": 11}
    auth = ("sandbox-pipedrive-client-id", "sandbox-pipedrive-client-secret")
    response = requests.delete(f"{pd_live}/pipedrive/callback", json=body, auth=auth, timeout=10)
    assert (response.status_code, response.json()["removed"]) == (200, True)
    assert installed_users(acme_installed) == {12}
    failed = ApiCall.objects.get(path="/sandbox/pipedrive/oauth-is-down/revoke")
    assert failed.status == 404
