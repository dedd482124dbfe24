"""The seeded demo support account signs in as the README says and gets the support role."""

from __future__ import annotations

from django.core.management import call_command
from django.test import Client

from tenants.management.commands.seed_demo import DEMO_PASSWORD, SUPPORT_EMAIL, SUPPORT_TOTP_SECRET
from tenants.models import Company, User
from tenants.support import may_run
from tests.test_admin import current_code


def test_the_seeded_support_account_opens_the_console_with_its_totp_code(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    support = User.objects.get(email=SUPPORT_EMAIL)
    assert [g.name for g in support.groups.all()] == ["support"]
    assert may_run(user=support, action="resync") and may_run(user=support, action="webhook_redeliver")
    assert not may_run(user=support, action="disconnect")

    client = Client()
    response = client.post("/accounts/login/", {"login": SUPPORT_EMAIL, "password": DEMO_PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    client.post("/accounts/2fa/authenticate/", {"code": current_code(SUPPORT_TOTP_SECRET)})
    company = Company.objects.get(pipedrive_company_id=1001)
    page = client.get(f"/admin/tenants/company/{company.pk}/change/")
    assert page.status_code == 200
    assert "Acme Robotics (demo)" in page.content.decode() and "Support actions" in page.content.decode()
    assert client.get("/admin/support/health/").status_code == 200
