import pytest


@pytest.mark.django_db
def test_landing_page_explains_the_app_and_denies_framing(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "QuickBooks Online invoicing, inside Pipedrive" in body
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_settings_page_requires_sign_in(client, db):
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_settings_page_lists_the_company_members(web_as):
    body = web_as("bob").get("/settings/").content.decode()
    assert "Acme Robotics" in body
    assert "alice@acme.test" in body and "bob@acme.test" in body


def test_openapi_schema_and_docs(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/members/{membership_id}" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "swagger" in docs.content.decode().lower()


def test_api_rejects_anonymous_callers_with_a_json_error(client, db):
    response = client.get("/api/v1/members")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_authenticated"


def test_api_errors_use_the_common_envelope(api_as):
    response = api_as("charlie").get("/api/v1/members/999999")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_company_api_returns_the_callers_company(api_as):
    body = api_as("bob").get("/api/v1/company").json()
    assert body["name"] == "Acme Robotics"
    assert body["invoice_visibility"] == "owner_only"


def test_user_without_a_company_is_refused_by_the_api(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/api/v1/company")
    assert response.status_code == 403
    assert "not a member" in response.json()["error"]["message"]


def test_seed_demo_is_idempotent(db):
    from django.core.management import call_command

    from tenants.models import Membership, User

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert User.objects.filter(email__in=["alice@acme.test", "bob@acme.test", "support@example.com"]).count() == 3
    assert Membership.all_companies.filter(company__pipedrive_company_id=1001).count() == 2
    support = User.objects.get(email="support@example.com")
    assert support.is_staff and not support.is_superuser


def test_only_company_admins_change_company_settings(api_as, personas):
    bob = api_as("bob").patch("/api/v1/company", {"invoice_visibility": "team"}, format="json")
    assert bob.status_code == 403
    assert bob.json()["error"]["message"] == "Only company admins can do this."
    personas.company_a.refresh_from_db()
    assert personas.company_a.invoice_visibility == "owner_only"

    alice = api_as("alice").patch("/api/v1/company", {"invoice_visibility": "team"}, format="json")
    assert alice.status_code == 200
    assert alice.json()["invoice_visibility"] == "team"
    personas.company_a.refresh_from_db()
    personas.company_b.refresh_from_db()
    assert personas.company_a.invoice_visibility == "team"
    assert personas.company_b.invoice_visibility == "owner_only"


def test_bad_company_settings_are_explained_and_change_nothing(api_as, personas):
    response = api_as("alice").patch("/api/v1/company", {"invoice_visibility": "everyone"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "invoice_visibility" in error["fields"]
    personas.company_a.refresh_from_db()
    assert personas.company_a.invoice_visibility == "owner_only"


def test_company_comes_from_the_principal_never_from_parameters(api_as, personas):
    client = api_as("charlie")
    for params in [{"company": personas.company_a.pk}, {"company_id": personas.company_a.pk}]:
        body = client.get("/api/v1/members", params).json()
        assert [m["email"] for m in body] == ["charlie@borealis.test"]
    header = client.get("/api/v1/company", HTTP_X_COMPANY_ID=str(personas.company_a.pk)).json()
    assert header["name"] == "Borealis Bakery"
    # An admin of company B changing settings never touches company A.
    client.patch("/api/v1/company", {"invoice_visibility": "team", "company": personas.company_a.pk}, format="json")
    personas.company_a.refresh_from_db()
    assert personas.company_a.invoice_visibility == "owner_only"
