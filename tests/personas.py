"""The people every test story is told with.

Alice is an admin of company A, Bob a regular member of company A, Charlie belongs to company B.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Company, Membership, User
from tests.factories import CompanyFactory, FieldMappingFactory, MembershipFactory, UserFactory


@dataclass
class Personas:
    company_a: Company
    company_b: Company
    alice: User
    bob: User
    charlie: User
    alice_membership: Membership
    bob_membership: Membership
    charlie_membership: Membership


def make_personas() -> Personas:
    company_a = CompanyFactory(name="Acme Robotics", pipedrive_company_id=1001, domain="acme")
    company_b = CompanyFactory(name="Borealis Bakery", pipedrive_company_id=2002, domain="borealis")
    FieldMappingFactory(company=company_a)
    FieldMappingFactory(company=company_b)
    alice = UserFactory(email="alice@acme.test", name="Alice Admin")
    bob = UserFactory(email="bob@acme.test", name="Bob Member")
    charlie = UserFactory(email="charlie@borealis.test", name="Charlie Baker")
    return Personas(
        company_a=company_a,
        company_b=company_b,
        alice=alice,
        bob=bob,
        charlie=charlie,
        alice_membership=MembershipFactory(company=company_a, user=alice, pipedrive_user_id=11, is_admin=True),
        bob_membership=MembershipFactory(company=company_a, user=bob, pipedrive_user_id=12, is_admin=False),
        charlie_membership=MembershipFactory(company=company_b, user=charlie, pipedrive_user_id=21, is_admin=True),
    )


def panel_token(*, company_id: int, user_id: int, lifetime: int = 300) -> str:
    """A panel JWT as Pipedrive signs it (HS256 with the app's JWT secret)."""
    import time

    import jwt
    from django.conf import settings

    now = int(time.time())
    claims = {"companyId": company_id, "userId": user_id, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, settings.PIPEDRIVE_JWT_SECRET, algorithm="HS256")


def add_invoices(p: Personas) -> Personas:
    """Each company gets a QuickBooks connection (owned by its admin) and an invoice on a deal."""
    from decimal import Decimal

    from integration.quickbooks.models import QuickBooksConnection
    from invoices.models import Invoice, InvoiceDeal, InvoiceEvent

    for suffix, company, owner, realm, deal in [
        ("a", p.company_a, p.alice_membership, "9130350000000001", 501),
        ("b", p.company_b, p.charlie_membership, "9130350000000002", 601),
    ]:
        connection = QuickBooksConnection.all_companies.create(
            company=company,
            owner=owner,
            realm_id=realm,
            status="active",
            home_currency="USD",
            company_name=f"{company.name} Books",
            access_token="x",
            refresh_token="y",
        )
        invoice = Invoice.all_companies.create(
            company=company,
            connection=connection,
            state="created",
            qbo_id=f"{deal}0",
            doc_number=f"{deal}-1",
            customer_qbo_id="3",
            customer_name=f"Customer of {company.name}",
            currency="USD",
            total=Decimal("100.00"),
            balance=Decimal("100.00"),
            txn_date="2026-11-01",
            due_date="2099-12-01",
        )
        InvoiceDeal.all_companies.create(company=company, invoice=invoice, deal_id=deal)
        InvoiceEvent.all_companies.create(
            company=company, invoice=invoice, kind="created", actor=owner, message=f"Created for {company.name}"
        )
        setattr(p, f"connection_{suffix}", connection)
        setattr(p, f"invoice_{suffix}", invoice)
        setattr(p, f"deal_{suffix}", deal)
    return p
