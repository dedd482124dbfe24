"""The settings page's invoice mapping: fields read from Pipedrive, defaults from QuickBooks,
validation that explains itself, admin-only changes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import requests

from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.pipedrive.seed import custom_key, seed
from invoices.models import TaxCodeMapping
from tenants.models import Company, FieldMapping
from tests.integration.pipedrive import flows
from tests.integration.quickbooks import helpers

VALID = {
    "to": "organization:name",
    "address": "organization:address",
    "email": "person:email",
    "tax_id": "",
    "due_days": "14",
    "default_currency": "usd",
    "default_tax_mode": "exclusive",
    "default_income_account_id": "79",
    "invoice_visibility": "team",
    "send_after_create": "on",
}


def _install(base_url: str, company) -> PipedriveInstallation:
    seed()
    with requests.Session() as browser:
        response = flows.install(browser, base_url, user_id=11)
    assert response.status_code == 302, response.text[:300]
    return PipedriveInstallation.all_companies.get(company=company, pipedrive_user_id=11)


@pytest.fixture
def installed(connected, personas, sandbox_base_url):
    """Company A: QuickBooks (US sandbox company) connected, Pipedrive installed by Alice."""
    return _install(sandbox_base_url, personas.company_a)


def _mapping(company) -> FieldMapping:
    return FieldMapping.all_companies.get(company=company)


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    match = re.search(r'<option value="([^"]*)"[^>]*selected', select)
    return match.group(1) if match else ""


def test_admin_sees_pipedrive_fields_grouped_with_recommendations(installed, personas, web_as):
    # A fresh company: nothing customized yet, so recommendations are preselected.
    FieldMapping.all_companies.filter(company=personas.company_a).update(
        to_entity="", to_key="", address_entity="", address_key="", email_entity="", email_key=""
    )
    page = web_as("alice").get("/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    # grouped by entity, custom fields included (their 40-hex keys as values)
    for group in ("Organization", "Person", "Deal"):
        assert f'<optgroup label="{group}">' in html
    billing = custom_key(1001, "deal", "Billing address")
    assert f'value="deal:{billing}"' in html and "Billing address" in html
    assert f'value="person:{custom_key(1001, "person", "Tax ID")}"' in html
    # numbers and people pickers are not offered as text
    assert 'value="deal:value"' not in html and 'value="deal:owner_id"' not in html
    assert (_selected(html, "to"), _selected(html, "address"), _selected(html, "email")) == (
        "organization:name",
        "organization:address",
        "person:email",
    )
    assert "Organization › Name (recommended)" in html  # the closed dropdown says whose name
    # QuickBooks income accounts only (active ones of type Income), for a US company no tax codes
    accounts = re.search(r'<select name="default_income_account_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', accounts) == ["79", "1"]
    assert "Undeposited Funds" not in accounts and "Checking" not in accounts
    assert 'name="tax_code_' not in html
    assert '<option value="USD">' in html  # currencies datalist from Pipedrive


def test_saving_valid_settings(installed, personas, web_as):
    client = web_as("alice")
    billing = custom_key(1001, "deal", "Billing address")
    response = client.post("/settings/", {**VALID, "address": f"deal:{billing}", "tax_id": "person:name"})
    assert response.status_code == 302 and response.url.endswith("/settings/#mapping")
    mapping = _mapping(personas.company_a)
    assert (mapping.to_entity, mapping.to_key) == ("organization", "name")
    assert (mapping.address_entity, mapping.address_key) == ("deal", billing)
    assert (mapping.tax_id_entity, mapping.tax_id_key) == ("person", "name")
    assert mapping.due_days == 14
    assert mapping.default_currency == "USD"  # normalized
    assert mapping.default_income_account_id == "79"
    assert mapping.send_after_create is True
    assert Company.objects.get(pk=personas.company_a.pk).invoice_visibility == "team"
    page = client.get("/settings/")
    assert "Invoice settings saved." in page.content.decode()
    assert _selected(page.content.decode(), "address") == f"deal:{billing}"
    # an empty optional target clears it
    client.post("/settings/", {**VALID, "tax_id": ""})
    assert _mapping(personas.company_a).tax_id_key == ""


def test_validation_errors_are_explained_and_nothing_is_saved(installed, personas, web_as):
    before = _mapping(personas.company_a)
    response = web_as("alice").post(
        "/settings/",
        {
            **VALID,
            "to": "",
            "email": "person:not_a_field",
            "due_days": "400",
            "default_currency": "EUR",  # the US sandbox company has multicurrency off
            "default_income_account_id": "35",  # a bank account, not offered
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["to"] == ["This field is required."]
    assert "not one of the available choices" in form.errors["email"][0]
    assert form.errors["due_days"] == ["QuickBooks terms longer than a year are not supported; use at most 365 days."]
    assert "multicurrency is off" in form.errors["default_currency"][0]
    assert "USD" in form.errors["default_currency"][0]
    assert "not one of the available choices" in form.errors["default_income_account_id"][0]
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and 'id="id_due_days_errors"' in html
    assert "please correct the fields marked below" in html
    after = _mapping(personas.company_a)
    assert (after.due_days, after.default_currency, after.to_key) == (before.due_days, before.default_currency, "name")
    assert Company.objects.get(pk=personas.company_a.pk).invoice_visibility == "owner_only"


def test_same_field_for_name_and_email_is_refused(installed, personas, web_as):
    response = web_as("alice").post("/settings/", {**VALID, "to": "person:email", "email": "person:email"})
    assert response.status_code == 400
    assert "cannot come from the same field" in response.context["form"].errors["to"][0]


def test_members_see_the_mapping_but_cannot_change_it(installed, personas, web_as):
    bob = web_as("bob")
    page = bob.get("/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Only Pipedrive admins of this company can change these settings." in html
    assert 'name="due_days"' not in html
    refused = bob.post("/settings/", {**VALID, "due_days": "3"})
    assert refused.status_code == 403
    assert _mapping(personas.company_a).due_days == 30


def test_without_pipedrive_the_saved_mapping_stays_and_the_page_says_why(personas, web_as):
    page = web_as("alice").get("/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Pipedrive is not installed for this company" in html
    assert _selected(html, "to") == "organization:name"  # the saved choice, still selectable
    assert "Connect QuickBooks above" in html
    response = web_as("alice").post(
        "/settings/",
        {
            **VALID,
            "default_currency": "",
            "default_income_account_id": "",
            "due_days": "0",
            "invoice_visibility": "team",
        },
    )
    assert response.status_code == 302
    assert _mapping(personas.company_a).due_days == 0


@pytest.fixture
def installed_uk(qbo, personas, web_as, link_calls, sandbox_base_url):
    """Company A connected to the sandbox's UK company (tax codes per line) and installed."""
    page = helpers.connect(web_as("alice"), realm_id=qbo.uk_realm)
    assert page.status_code == 200, helpers.messages_of(page)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert connection.tax_model == "global"
    return connection, _install(sandbox_base_url, personas.company_a)


def test_non_us_company_maps_tax_rates_to_tax_codes(installed_uk, personas, web_as):
    connection, installation = installed_uk
    client = web_as("alice")
    html = client.get("/settings/").content.decode()
    # the rates of the company's Pipedrive products, each offered the QBO tax codes
    for rate in ("0", "8_25", "19"):
        assert f'name="tax_code_{rate}"' in html
    codes = re.search(r'<select name="tax_code_19"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', codes) == ["2", "3", "4", "5"]

    # no code at all while taxes are on: explained, nothing stored
    data = {**VALID, "default_currency": "GBP", "default_income_account_id": "2"}
    refused = client.post("/settings/", data)
    assert refused.status_code == 400
    assert "needs a tax code on every invoice line" in refused.content.decode()
    # a rate without a code is explained next to the field
    refused = client.post("/settings/", {**data, "tax_code_19": "2", "new_tax_rate": "7.5"})
    assert refused.context["form"].errors["new_tax_code"] == ["Choose the QuickBooks tax code for this rate."]

    saved = client.post(
        "/settings/", {**data, "tax_code_19": "2", "tax_code_0": "4", "new_tax_rate": "5", "new_tax_code": "3"}
    )
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else ""
    stored = {
        (m.tax_rate, m.qbo_tax_code_id, m.tax_code_name)
        for m in TaxCodeMapping.all_companies.filter(connection=connection)
    }
    assert stored == {(Decimal("19"), "2", "20.0% S"), (Decimal("0"), "4", "0.0% Z"), (Decimal("5"), "3", "5.0% R")}
    html = client.get("/settings/").content.decode()
    assert _selected(html, "tax_code_19") == "2" and _selected(html, "tax_code_5") == "3"
    # clearing a rate forgets it
    client.post("/settings/", {**data, "tax_code_19": "2", "tax_code_0": "", "tax_code_5": "3"})
    assert set(TaxCodeMapping.all_companies.values_list("tax_rate", flat=True)) == {Decimal("19"), Decimal("5")}

    # the draft of a deal uses the mapped code per line
    from invoices.deal_drafts import draft_from_deal
    from tenants.scoping import company_scope

    with company_scope(personas.company_a):
        draft = draft_from_deal(
            installation=installation, connection=connection, mapping=_mapping(personas.company_a), deal_id=2
        )
    by_rate = {Decimal(line.tax): line.tax_code for line in draft.lines}
    assert by_rate.get(Decimal("19")) == "2"


def test_pipedrive_lists_are_cached_per_company_until_refresh(installed, personas, web_as):
    """The settings page does not re-read Pipedrive's fields and product catalogue on every visit."""
    from django.core.cache import cache

    from integration.sandbox.pipedrive.models import SandboxCompany, SandboxField

    cache.clear()
    alice = web_as("alice")
    assert "Invoice notes" not in alice.get("/settings/").content.decode()
    sandbox = SandboxCompany.objects.get(id=personas.company_a.pipedrive_company_id)
    SandboxField.objects.create(
        company=sandbox,
        entity="deal",
        order=999,
        field_code="f" * 40,
        data={"field_name": "Invoice notes", "field_code": "f" * 40, "field_type": "text", "is_custom_field": True},
    )
    page = alice.get("/settings/").content.decode()
    assert "Invoice notes" not in page  # served from the cache: Pipedrive was not asked again
    assert "Refresh from Pipedrive" in page
    refreshed = web_as("alice").post("/settings/", {"refresh_lists": "1"})
    assert refreshed.status_code == 302
    assert "Invoice notes" in web_as("alice").get("/settings/").content.decode()
    # Company B's page never sees company A's cached lists.
    assert "Invoice notes" not in web_as("charlie").get("/settings/").content.decode()
    # Members who are not admins cannot make us re-read Pipedrive.
    assert web_as("bob").post("/settings/", {"refresh_lists": "1"}).status_code == 403
