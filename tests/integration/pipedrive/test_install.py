"""Install, sign-in, reinstall and bad input, over real HTTP against the Pipedrive sandbox."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.signals import user_logged_in
from allauth.socialaccount.models import SocialAccount
from django.db import connection
from django.utils import timezone

from integration.models import ApiCall
from integration.pipedrive.models import PipedriveInstallation
from integration.sandbox.pipedrive.models import SandboxAuthCode, SandboxGrant
from tenants.models import Company, Membership, User
from tests.factories import CompanyFactory, MembershipFactory, UserFactory
from tests.integration.pipedrive.flows import (
    ACME,
    BOREALIS,
    consent,
    install,
    start_in_marketplace,
    start_on_our_site,
)


def snapshot() -> dict:
    """Everything an install may touch, to prove bad input changes nothing."""
    return {
        "companies": sorted(Company.objects.values_list("pipedrive_company_id", "status", "api_domain")),
        "users": sorted(User.objects.values_list("email", flat=True)),
        "memberships": sorted(Membership.all_companies.values_list("company_id", "pipedrive_user_id", "is_admin")),
        "installations": sorted(
            PipedriveInstallation.all_companies.values_list("company_id", "pipedrive_user_id", "updated_at")
        ),
        "social": sorted(SocialAccount.objects.values_list("provider", "uid")),
    }


def signed_in_settings(browser, base) -> str:
    page = browser.get(f"{base}/settings/")
    assert page.status_code == 200
    assert page.url == f"{base}/settings/", "not signed in: bounced to the login page"
    return page.text


def test_install_started_on_our_site_signs_in_and_lands_on_settings(pd_live, browser):
    authorize = start_on_our_site(browser, pd_live)
    assert "state=" in authorize and authorize.startswith(f"{pd_live}/sandbox/pipedrive/oauth/authorize")
    callback = consent(browser, authorize, user_id=11)
    assert callback.url.startswith(f"{pd_live}/pipedrive/callback?")
    assert set(callback.query) == {"code", "state"}

    response = browser.get(callback.url, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/")

    company = Company.objects.get(pipedrive_company_id=ACME)
    assert (company.name, company.domain, company.status) == ("Acme Robotics (demo)", "acme-demo", "active")
    assert company.api_domain == f"{pd_live}/sandbox/pipedrive/api/acme-demo"
    membership = Membership.all_companies.get(company=company, pipedrive_user_id=11)
    assert membership.is_admin is True
    assert membership.user.email == "alice@acme.test"
    assert not membership.user.has_usable_password()
    installation = PipedriveInstallation.all_companies.get(company=company, pipedrive_user_id=11)
    assert installation.membership == membership
    assert installation.api_domain == company.api_domain
    assert installation.access_token and installation.refresh_token
    assert timedelta(minutes=58) < installation.access_expires_at - timezone.now() <= timedelta(minutes=60)
    assert "base" in installation.scope_list
    # tokens are encrypted at rest: the raw column never holds the plaintext
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM pipedrive_pipedriveinstallation WHERE id = %s", [installation.pk]
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert installation.access_token not in raw_access and installation.refresh_token not in raw_refresh
    # allauth's records: the identity is (company, user)
    account = SocialAccount.objects.get(provider="pipedrive", uid=f"{ACME}:11")
    assert account.user == membership.user
    assert account.extra_data["company_id"] == ACME
    # the calls went over HTTP through the call log, without secrets
    paths = list(ApiCall.objects.filter(service="pipedrive").values_list("method", "path"))
    assert ("POST", "/sandbox/pipedrive/oauth/token") in paths
    assert ("GET", "/sandbox/pipedrive/api/acme-demo/api/v1/users/me") in paths

    page = signed_in_settings(browser, pd_live)
    assert "Acme Robotics (demo)" in page


def test_install_started_in_the_marketplace_needs_no_state(pd_live, browser):
    authorize = start_in_marketplace(browser, pd_live)
    assert "state=" not in authorize
    callback = consent(browser, authorize, user_id=22)
    assert set(callback.query) == {"code"}
    response = browser.get(callback.url, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/")

    company = Company.objects.get(pipedrive_company_id=BOREALIS)
    membership = Membership.all_companies.get(company=company, pipedrive_user_id=22)
    assert membership.is_admin is False  # Dana is a regular Pipedrive user
    assert membership.user.email == "dana@borealis.test"
    assert PipedriveInstallation.all_companies.filter(company=company, pipedrive_user_id=22).exists()
    assert "Borealis Bakery (demo)" in signed_in_settings(browser, pd_live)


def test_reinstall_is_idempotent(pd_live, browser):
    install(browser, pd_live, user_id=11)
    first = PipedriveInstallation.all_companies.get(pipedrive_user_id=11)
    before = snapshot()
    # Again from the Marketplace, in a new browser, then once more from our site.
    assert install(browser, pd_live, user_id=11, via="marketplace").status_code == 302
    assert install(browser, pd_live, user_id=11).status_code == 302
    after = snapshot()
    for key in ("companies", "users", "memberships", "social"):
        assert after[key] == before[key]
    again = PipedriveInstallation.all_companies.get(pipedrive_user_id=11)
    assert again.pk == first.pk
    assert again.access_token != first.access_token  # the newest tokens are stored
    assert Company.objects.filter(pipedrive_company_id=ACME).count() == 1


def test_second_user_of_the_same_company_gets_their_own_installation(pd_live, browser):
    install(browser, pd_live, user_id=11)
    browser.cookies.clear()
    install(browser, pd_live, user_id=12)
    company = Company.objects.get(pipedrive_company_id=ACME)
    assert set(
        PipedriveInstallation.all_companies.filter(company=company).values_list("pipedrive_user_id", flat=True)
    ) == {11, 12}
    assert Membership.all_companies.get(company=company, pipedrive_user_id=12).is_admin is False
    assert "bob@acme.test" in signed_in_settings(browser, pd_live)


def test_replayed_code_is_refused_and_changes_nothing(pd_live, browser):
    callback = consent(browser, start_in_marketplace(browser, pd_live), user_id=21)
    assert browser.get(callback.url, allow_redirects=False).status_code == 302
    before = snapshot()
    thief = type(browser)()
    replay = thief.get(callback.url, allow_redirects=False)
    assert replay.status_code == 400
    assert "already used or is older than 5 minutes" in replay.text
    assert snapshot() == before
    assert thief.get(f"{pd_live}/settings/").url.startswith(f"{pd_live}/accounts/login/")


def test_expired_code_is_refused_and_changes_nothing(pd_live, browser):
    callback = consent(browser, start_in_marketplace(browser, pd_live), user_id=21)
    SandboxAuthCode.objects.filter(code=callback.query["code"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot()
    response = browser.get(callback.url, allow_redirects=False)
    assert response.status_code == 400
    assert "This installation link has expired" in response.text
    assert snapshot() == before
    assert not Company.objects.filter(pipedrive_company_id=BOREALIS).exists()


def test_wrong_state_is_refused_before_the_code_is_spent(pd_live, browser):
    callback = consent(browser, start_on_our_site(browser, pd_live), user_id=21)
    forged = callback.url.replace(f"state={callback.query['state']}", "state=forged-state-value")
    before = snapshot()
    response = browser.get(forged, allow_redirects=False)
    assert response.status_code == 400
    assert "did not come from this browser session" in response.text
    assert snapshot() == before
    # the real state still works once: nothing was consumed by the forgery
    assert browser.get(callback.url, allow_redirects=False).status_code == 302
    # ... and only once
    assert browser.get(callback.url, allow_redirects=False).status_code == 400


def test_state_from_another_browser_is_refused(pd_live, browser):
    callback = consent(browser, start_on_our_site(browser, pd_live), user_id=21)
    other = type(browser)()
    before = snapshot()
    response = other.get(callback.url, allow_redirects=False)
    assert response.status_code == 400
    assert snapshot() == before
    assert not SandboxAuthCode.objects.get(code=callback.query["code"]).used_at


def test_user_denied_shows_a_clear_page_and_changes_nothing(pd_live, browser):
    before = snapshot()
    callback = consent(browser, start_on_our_site(browser, pd_live), user_id=11, decision="deny")
    assert callback.query["error"] == "user_denied"
    response = browser.get(callback.url, allow_redirects=False)
    assert response.status_code == 400
    assert "Installation cancelled" in response.text
    assert snapshot() == before
    assert not SandboxGrant.objects.exists()


def test_callback_without_code_is_refused(pd_live, browser):
    before = snapshot()
    response = browser.get(f"{pd_live}/pipedrive/callback", allow_redirects=False)
    assert response.status_code == 400
    assert "did not send an authorization code" in response.text
    assert snapshot() == before


def test_continue_with_pipedrive_on_the_login_page(pd_live, browser):
    login = browser.get(f"{pd_live}/accounts/login/")
    assert "Continue with Pipedrive" in login.text
    csrf = browser.cookies["csrftoken"]
    start = browser.post(
        f"{pd_live}/accounts/pipedrive/login/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{pd_live}/accounts/login/"},
        allow_redirects=False,
    )
    assert start.status_code == 302
    authorize = start.headers["Location"]
    assert authorize.startswith(f"{pd_live}/sandbox/pipedrive/oauth/authorize") and "state=" in authorize
    assert f"redirect_uri={pd_live.replace(':', '%3A').replace('/', '%2F')}%2Fpipedrive%2Fcallback" in authorize
    callback = consent(browser, authorize, user_id=11)
    response = browser.get(callback.url, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/")
    assert "Acme Robotics (demo)" in signed_in_settings(browser, pd_live)


def test_sign_in_goes_through_allauths_login_flow(pd_live, browser):
    received = []

    def on_login(sender, request, user, **kwargs):
        sociallogin = kwargs.get("sociallogin")
        received.append((user.email, sociallogin.account.provider if sociallogin else None))

    user_logged_in.connect(on_login, dispatch_uid="test-pipedrive-login")
    try:
        install(browser, pd_live, user_id=11, via="marketplace")
    finally:
        user_logged_in.disconnect(dispatch_uid="test-pipedrive-login")
    assert received == [("alice@acme.test", "pipedrive")]
    assert User.objects.get(email="alice@acme.test").last_login is not None


def test_the_installed_company_becomes_the_active_one(pd_live, browser):
    # Alice already has a seat in another company (created first, so it would be the default).
    other = CompanyFactory(name="Zeta Holdings", pipedrive_company_id=555)
    MembershipFactory(company=other, user=UserFactory(email="alice@acme.test"), pipedrive_user_id=5)
    install(browser, pd_live, user_id=11)
    page = signed_in_settings(browser, pd_live)
    assert "Acme Robotics (demo)" in page and "Zeta Holdings" not in page


def test_an_email_never_hands_over_someone_elses_account(db, personas):
    """Pipedrive does not say an email is verified: a new identity with Alice's email gets its own user."""
    from tenants.selectors import ACTIVE_MEMBERSHIP_SESSION_KEY, membership_for_session
    from tenants.services import company_upsert, membership_upsert

    other = company_upsert(pipedrive_company_id=777, name="Mallory Inc")
    mallory = membership_upsert(
        company=other, email="ALICE@acme.test", name="Not Alice", pipedrive_user_id=66, is_admin=True
    )
    assert mallory.user != personas.alice
    assert mallory.user.email == "pipedrive-777-66@users.invalid" and not mallory.user.has_usable_password()
    again = membership_upsert(
        company=other, email="alice@acme.test", name="Not Alice", pipedrive_user_id=66, is_admin=True
    )
    assert again.user == mallory.user  # the same Pipedrive identity keeps its account
    # A chosen seat that disappeared never falls back to another company's seat.
    session = {ACTIVE_MEMBERSHIP_SESSION_KEY: 999_999}
    assert membership_for_session(user=personas.alice, session=session) is None
