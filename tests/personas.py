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
