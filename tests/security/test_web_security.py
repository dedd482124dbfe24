"""Security of the browser-facing doors (issue 17): admin login redirects, the admin with
hostile stored values, and what 401s tell a client."""

from __future__ import annotations

import logging
import re

import pytest
from rest_framework.test import APIClient

from tests.test_admin import PASSWORD, current_code, staff_with_totp  # noqa: F401 (fixture)

HOSTILE_NEXT = [
    "https://evil.example/x",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.domain)",
    " //evil.example",
    "https:evil.example",
    "http://testserver.evil.example/",
]


def signed_in_staff(client, staff, secret):
    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)}).status_code == 302


@pytest.mark.parametrize("next_url", HOSTILE_NEXT)
def test_admin_login_never_redirects_off_site(client, staff_with_totp, next_url):  # noqa: F811
    staff, secret = staff_with_totp
    anonymous = client.get("/admin/login/", {"next": next_url})
    assert anonymous.status_code == 302
    assert "evil" not in anonymous["Location"] and "javascript" not in anonymous["Location"].lower()
    signed_in_staff(client, staff, secret)
    response = client.get("/admin/login/", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_admin_login_keeps_same_site_paths(client, staff_with_totp):  # noqa: F811
    staff, secret = staff_with_totp
    signed_in_staff(client, staff, secret)
    assert client.get("/admin/login/", {"next": "/admin/support/health/"})["Location"] == "/admin/support/health/"


# -- what a 401 tells the client ------------------------------------------------------------------


def _token(**claims) -> str:
    import time

    import jwt
    from django.conf import settings

    now = int(time.time())
    body = {"companyId": 1001, "userId": 11, "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, settings.PIPEDRIVE_JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "token, reason",
    [
        pytest.param(lambda: _token(exp=10**30), "lifetime_too_long", id="exp-10^30"),
        pytest.param(lambda: _token(exp=1), "expired", id="expired"),
        pytest.param(lambda: _token(companyId=31337), "unknown_company", id="unknown-company"),
        pytest.param(lambda: "not.a.jwt", "malformed", id="malformed"),
    ],
)
def test_401_says_only_not_authenticated_and_logs_why(personas, caplog, token, reason):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token()}")
    with caplog.at_level(logging.INFO, logger="tenants.api"):
        response = client.get("/api/v1/deals/501/invoices")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "not_authenticated", "message": "Not authenticated.", "fields": {}}}
    assert reason in caplog.text


def test_the_debug_error_page_does_not_show_secrets(personas, settings, monkeypatch):
    import jwt

    settings.DEBUG = True
    # Built, not written: the page shows this file's source lines around broken_decode.
    settings.PIPEDRIVE_JWT_SECRET = "-".join(["the", "real", "jwt", "secret", "0123456789abcdef"])

    def broken_decode(*args, **kwargs):
        raise RuntimeError("PyJWT broke")

    monkeypatch.setattr(jwt, "decode", broken_decode)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token()}")
    response = client.get("/api/v1/deals/501/invoices", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    page = response.content.decode()
    assert "PyJWT broke" in page  # the debug page it is
    assert "the-real-jwt-secret" not in page


# -- the admin with the largest values we accept ----------------------------------------------------


def test_the_limits_fit_the_columns():
    from invoices import validation
    from invoices.models import Invoice, InvoiceLine

    for model, name in [(InvoiceLine, "unit_price"), (InvoiceLine, "quantity"), (InvoiceLine, "amount")]:
        column = model._meta.get_field(name)
        places = min(column.decimal_places, validation.MAX_DECIMAL_PLACES)
        assert validation.MAX_AMOUNT.adjusted() + 1 + places <= column.max_digits, name
    total = Invoice._meta.get_field("total")
    assert validation.MAX_AMOUNT.adjusted() + 1 + total.decimal_places <= total.max_digits


def test_admin_pages_of_a_line_at_the_largest_accepted_price(client, staff_with_totp, personas):  # noqa: F811
    from decimal import Decimal

    from invoices import validation
    from invoices.models import InvoiceLine
    from tests.personas import add_invoices

    staff, secret = staff_with_totp
    staff.is_superuser = True
    staff.save()
    signed_in_staff(client, staff, secret)
    if not hasattr(personas, "invoice_a"):
        add_invoices(personas)
    invoice = personas.invoice_a
    line = InvoiceLine.all_companies.create(
        company=invoice.company,
        invoice=invoice,
        position=1,
        qbo_item_id="2",
        quantity=Decimal("1.1234567"),
        unit_price=Decimal("9999999999.1234567"),
        amount=validation.MAX_AMOUNT,
    )
    assert client.get(f"/admin/invoices/invoice/{invoice.pk}/change/").status_code == 200
    page = client.get(f"/admin/invoices/invoiceline/{line.pk}/change/")
    assert page.status_code == 200
    # (SQLite keeps decimals as doubles: the last digits may differ there, not on PostgreSQL.)
    assert re.search(r"9,?999,?999,?999\.1234", page.content.decode())
