"""The admin is for staff only, signed in through allauth with TOTP."""

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


@pytest.fixture
def staff_with_totp(db):
    user = UserFactory(email="support@ops.test", is_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def test_anonymous_is_sent_to_allauth_login(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_non_staff_members_are_refused(web_as, personas):
    client = web_as("alice")
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert client.get("/admin/tenants/company/").status_code == 302


def test_staff_without_totp_must_set_it_up(client, db):
    staff = UserFactory(email="new-support@ops.test", is_staff=True)
    client.force_login(staff)
    response = client.get("/admin/", follow=False)
    login = client.get(response["Location"])
    assert login["Location"].startswith("/accounts/2fa/totp/activate/")
    assert client.get("/admin/tenants/company/").status_code == 302


def test_staff_signed_in_without_the_second_factor_must_pass_it(client, staff_with_totp):
    staff, _ = staff_with_totp
    client.force_login(staff)  # a session without an MFA record
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
    assert client.get("/admin/").status_code == 302


def test_staff_login_through_allauth_with_totp_opens_the_admin(client, staff_with_totp, personas):
    from django.contrib.auth.models import Permission

    staff, secret = staff_with_totp
    staff.user_permissions.add(Permission.objects.get(codename="view_company"))
    response = client.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")

    response = client.post(response["Location"], {"code": "000000"})
    assert response.status_code == 200  # wrong code: the form again

    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    admin_index = client.get("/admin/")
    assert admin_index.status_code == 200
    companies = client.get("/admin/tenants/company/")
    assert companies.status_code == 200
    assert "Acme Robotics" in companies.content.decode()
    assert "Borealis Bakery" in companies.content.decode()


def test_password_alone_does_not_open_the_admin(client, staff_with_totp):
    staff, _ = staff_with_totp
    client.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_admin_pages_of_every_tenant_model_render_for_staff(client, staff_with_totp, personas):
    staff, secret = staff_with_totp
    staff.is_superuser = True
    staff.save()
    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    for path in [
        "/admin/tenants/user/",
        "/admin/tenants/company/",
        "/admin/tenants/membership/",
        "/admin/tenants/fieldmapping/",
        f"/admin/tenants/company/{personas.company_a.pk}/change/",
        f"/admin/tenants/membership/{personas.bob_membership.pk}/change/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
    search = client.get("/admin/tenants/membership/", {"q": "bob@acme.test"}).content.decode()
    assert "bob@acme.test" in search
    assert not re.search(r"charlie@borealis\.test", search)


def test_open_signup_is_closed(client, db):
    response = client.get("/accounts/signup/")
    assert "closed" in response.content.decode().lower()
