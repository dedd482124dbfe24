"""Seed data: idempotent, reachable through the management command, realistic edge cases present."""

from django.core.management import call_command

from integration.sandbox.pipedrive.models import SandboxCompany, SandboxField, SandboxRecord, SandboxUser
from integration.sandbox.pipedrive.seed import custom_key, line_sum, seed


def _counts():
    return (
        SandboxCompany.objects.count(),
        SandboxUser.objects.count(),
        SandboxRecord.objects.count(),
        SandboxField.objects.count(),
    )


def test_seed_is_idempotent_and_repairs_edits(db):
    seed()
    first = _counts()
    deal = SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=1)
    deal.data["title"] = "edited in a test"
    deal.save()
    call_command("seed_pipedrive_sandbox")
    assert _counts() == first
    assert SandboxRecord.objects.get(pk=deal.pk).data["title"] == "Initech robot line"


def test_seed_companies_users_and_field_keys(db):
    seed()
    acme = SandboxCompany.objects.get(pk=1001)
    assert (acme.name, acme.domain) == ("Acme Robotics (demo)", "acme-demo")
    assert SandboxCompany.objects.get(pk=2002).domain == "borealis-demo"
    alice, bob = SandboxUser.objects.get(pk=11), SandboxUser.objects.get(pk=12)
    assert (alice.email, alice.is_admin, bob.email, bob.is_admin) == ("alice@acme.test", True, "bob@acme.test", False)
    assert SandboxUser.objects.filter(company_id=2002, is_admin=True).exists()
    assert SandboxUser.objects.filter(company_id=2002, is_admin=False).exists()
    custom = SandboxField.objects.filter(company=acme, data__is_custom_field=True)
    assert custom.count() >= 12
    assert all(len(f.field_code) == 40 and int(f.field_code, 16) >= 0 for f in custom)
    assert custom_key(1001, "deal", "Services") != custom_key(2002, "deal", "Services")
    currencies = {r.data["currency"] for r in SandboxRecord.objects.filter(company=acme, kind="deal")}
    assert {"USD", "EUR", "CAD"} <= currencies


def test_line_sum_rules():
    from decimal import Decimal as D

    assert line_sum(
        quantity=D(5),
        item_price=D(22),
        discount=D("0.2"),
        discount_type="percentage",
        tax=D(11),
        tax_method="inclusive",
    ) == D("109.78")  # the spec's v1 example
    assert line_sum(
        quantity=D(16),
        item_price=D(150),
        discount=D(200),
        discount_type="amount",
        tax=D("8.25"),
        tax_method="exclusive",
    ) == D("2381.50")
    assert line_sum(
        quantity=D(1), item_price=D(100), discount=D(0), discount_type="percentage", tax=D(20), tax_method="none"
    ) == D("100.00")
