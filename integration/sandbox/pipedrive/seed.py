"""Demo data of the Pipedrive sandbox: two companies with users, contacts, products, deals and
custom fields in the API v2 encodings (reference §2.6-2.11). Idempotent: records are upserted by id.

Company 1001 "Acme Robotics (demo)" (domain acme-demo): alice@acme.test (id 11, admin),
bob@acme.test (id 12). Company 2002 "Borealis Bakery (demo)" (borealis-demo): charlie (21, admin),
dana (22). Custom field keys are 40-hex, derived from company + entity + name, so they differ
per company like real ones but stay stable across re-seeds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from integration.sandbox.pipedrive.models import (
    Plan,
    SandboxCompany,
    SandboxField,
    SandboxInstallment,
    SandboxRecord,
    SandboxUser,
)

ACME = 1001
BOREALIS = 2002
T0 = "2026-10-01T09:00:00Z"
T1 = "2026-11-02T14:30:00Z"

ADDRESS_KEYS = (
    "value",
    "country",
    "admin_area_level_1",
    "admin_area_level_2",
    "locality",
    "sublocality",
    "route",
    "street_number",
    "subpremise",
    "postal_code",
    "formatted_address",
)


def custom_key(company_id: int, entity: str, name: str) -> str:
    """A stable 40-hex custom field key, different in every company (like Pipedrive's hashes)."""
    return hashlib.sha1(f"{company_id}:{entity}:{name}".encode(), usedforsecurity=False).hexdigest()


def address(**parts: str | None) -> dict:
    """A v2 address object; parts not given are null, as for an address that was never geocoded."""
    return {key: parts.get(key) for key in ADDRESS_KEYS}


def money(value: Decimal) -> float | int:
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def line_sum(
    *, quantity: Decimal, item_price: Decimal, discount: Decimal, discount_type: str, tax: Decimal, tax_method: str
) -> Decimal:
    """Pipedrive's line `sum`: discounted net (percent units, or an amount off the line), plus tax when
    exclusive; inclusive tax is already in the price. Whether `sum` carries exclusive tax is
    undocumented (reference §2.7, UNCERTAIN): the sandbox says yes."""
    gross = quantity * item_price
    net = gross * (Decimal(100) - discount) / Decimal(100) if discount_type == "percentage" else gross - discount
    if tax_method == "exclusive":
        net = net * (Decimal(100) + tax) / Decimal(100)
    return net.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- field definitions ------------------------------------------------------------------------


def _field(
    code: str, name: str, field_type: str, *, custom: bool, options=None, subfields=None, description=None
) -> dict:
    return {
        "field_name": name,
        "field_code": code,
        "description": description,
        "field_type": field_type,
        "options": options,
        "subfields": subfields,
        "is_custom_field": custom,
        "is_optional_response_field": False,
    }


def _address_subfields(label: str) -> list[dict]:
    names = {
        "value": "Address value",
        "street_number": "House number",
        "route": "Street/road name",
        "subpremise": "Apartment/suite",
        "sublocality": "District/sublocality",
        "locality": "City/town/village/locality",
        "admin_area_level_1": "State/county",
        "admin_area_level_2": "Region",
        "country": "Country",
        "postal_code": "ZIP/Postal code",
        "formatted_address": "Full/combined address",
    }
    return [{"field_code": k, "field_name": f"{v} of {label}", "field_type": "varchar"} for k, v in names.items()]


def _monetary_subfields(label: str) -> list[dict]:
    return [
        {"field_code": "value", "field_name": f"Amount of {label}", "field_type": "double"},
        {"field_code": "currency", "field_name": f"Currency of {label}", "field_type": "varchar"},
    ]


def _custom_fields(company_id: int) -> dict[str, list[tuple[str, str, dict]]]:
    """entity -> [(name, field_type, extra)] of the company's custom fields."""
    return {
        "deal": [
            ("Purchase order number", "varchar", {}),
            ("Billing address", "address", {}),
            ("Contract value", "monetary", {}),
            (
                "Payment terms",
                "enum",
                {
                    "options": [
                        {"id": 31, "label": "Net 15"},
                        {"id": 32, "label": "Net 30"},
                        {"id": 33, "label": "Net 60"},
                    ]
                },
            ),
            (
                "Services",
                "set",
                {
                    "options": [
                        {"id": 41, "label": "Installation"},
                        {"id": 42, "label": "Training"},
                        {"id": 43, "label": "Support"},
                    ]
                },
            ),
            ("Internal notes", "text", {}),
        ],
        "organization": [
            ("VAT number", "varchar", {}),
            ("Billing address", "address", {}),
            ("Customer tier", "enum", {"options": [{"id": 51, "label": "Gold"}, {"id": 52, "label": "Silver"}]}),
        ],
        "person": [("Invoice email", "varchar", {}), ("Tax ID", "varchar", {})],
        "product": [
            ("Income category", "enum", {"options": [{"id": 61, "label": "Hardware"}, {"id": 62, "label": "Services"}]})
        ],
    }


SYSTEM_FIELDS = {
    "deal": [
        _field("title", "Title", "varchar", custom=False),
        _field("value", "Value", "monetary", custom=False, subfields=_monetary_subfields("Value")),
        _field("person_id", "Contact person", "people", custom=False),
        _field("org_id", "Organization", "org", custom=False),
        _field("owner_id", "Owner", "user", custom=False),
        _field("expected_close_date", "Expected close date", "date", custom=False),
        _field(
            "status",
            "Status",
            "status",
            custom=False,
            options=[
                {"id": "open", "label": "Open"},
                {"id": "won", "label": "Won"},
                {"id": "lost", "label": "Lost"},
                {"id": "deleted", "label": "Deleted"},
            ],
        ),
    ],
    "organization": [
        _field("name", "Name", "varchar", custom=False),
        _field("address", "Address", "address", custom=False, subfields=_address_subfields("Address")),
        _field("owner_id", "Owner", "user", custom=False),
    ],
    "person": [
        _field("name", "Name", "varchar", custom=False),
        # Field codes as GET /api/v2/personFields lists them (SPEC2 example: `phone`); the person object
        # keys are `emails`/`phones`.
        _field("email", "Email", "varchar", custom=False),
        _field("phone", "Phone", "phone", custom=False),
        _field("org_id", "Organization", "org", custom=False),
    ],
    "product": [
        _field("name", "Name", "varchar", custom=False),
        _field("code", "Product code", "varchar", custom=False),
        _field("unit", "Unit", "varchar", custom=False),
        _field("tax", "Tax", "double", custom=False),
        _field("prices", "Price", "price_list", custom=False),
    ],
}


def _field_definitions(company_id: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entity, customs in _custom_fields(company_id).items():
        defs = list(SYSTEM_FIELDS[entity])
        for name, field_type, extra in customs:
            subfields = (
                _address_subfields(name)
                if field_type == "address"
                else _monetary_subfields(name)
                if field_type == "monetary"
                else None
            )
            defs.append(
                _field(
                    custom_key(company_id, entity, name),
                    name,
                    field_type,
                    custom=True,
                    options=extra.get("options"),
                    subfields=subfields,
                )
            )
        out[entity] = defs
    return out


# --- records ----------------------------------------------------------------------------------


def _custom(company_id: int, entity: str, values: dict[str, object]) -> dict:
    """All of an entity's custom fields keyed by hash; the ones not given are null (v2 returns them)."""
    return {
        custom_key(company_id, entity, name): values.get(name) for name, _t, _e in _custom_fields(company_id)[entity]
    }


def _organization(company_id: int, oid: int, name: str, owner: int, addr: dict | None, custom: dict) -> dict:
    return {
        "id": oid,
        "name": name,
        "owner_id": owner,
        "add_time": T0,
        "update_time": T1,
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "address": addr,
        "website": None,
        "linkedin": None,
        "industry": None,
        "annual_revenue": None,
        "employee_count": None,
        "custom_fields": _custom(company_id, "organization", custom),
    }


def _person(
    company_id: int, pid: int, name: str, owner: int, org_id: int | None, emails: list, phones: list, custom: dict
) -> dict:
    first, _, last = name.partition(" ")
    return {
        "id": pid,
        "name": name,
        "first_name": first,
        "last_name": last,
        "owner_id": owner,
        "org_id": org_id,
        "add_time": T0,
        "update_time": T1,
        "emails": [{"value": value, "primary": primary, "label": label} for value, primary, label in emails],
        "phones": [{"value": value, "primary": primary, "label": label} for value, primary, label in phones],
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": _custom(company_id, "person", custom),
        # The contact-sync fields of the SPEC2 example (GET /api/v2/persons/{id}), same keys and shapes.
        "notes": None,
        "im": [],
        "birthday": None,
        "job_title": None,
        "postal_address": None,
    }


def _product(
    company_id: int,
    pid: int,
    name: str,
    code: str,
    unit: str,
    tax: float,
    prices: dict,
    owner: int,
    custom: dict,
    billing: str = "one-time",
) -> dict:
    return {
        "id": pid,
        "name": name,
        "code": code,
        "description": None,
        "unit": unit,
        "tax": tax,
        "category": None,
        "is_linkable": True,
        "is_deleted": False,
        "visible_to": 3,
        "owner_id": owner,
        "add_time": T0,
        "update_time": T1,
        "billing_frequency": billing,
        "billing_frequency_cycles": None,
        "prices": [
            {"product_id": pid, "price": price, "currency": currency, "cost": 0, "direct_cost": 0, "notes": ""}
            for currency, price in prices.items()
        ],
        "custom_fields": _custom(company_id, "product", custom),
    }


def _deal(
    company_id: int,
    did: int,
    title: str,
    *,
    owner: int,
    person_id,
    org_id,
    currency: str,
    status: str,
    value,
    custom: dict,
) -> dict:
    won = status == "won"
    lost = status == "lost"
    return {
        "id": did,
        "title": title,
        "creator_user_id": owner,
        "owner_id": owner,
        "value": value,
        "person_id": person_id,
        "org_id": org_id,
        "stage_id": 3 if won else 1,
        "pipeline_id": 1,
        "currency": currency,
        "archive_time": None,
        "add_time": T0,
        "update_time": T1,
        "stage_change_time": T1,
        "status": status,
        "is_archived": False,
        "is_deleted": status == "deleted",
        "probability": None,
        "lost_reason": "Went with a competitor" if lost else None,
        "visible_to": 3,
        "close_time": T1 if (won or lost) else None,
        "won_time": T1 if won else None,
        "lost_time": T1 if lost else None,
        "local_won_date": "2026-11-02" if won else None,
        "local_lost_date": "2026-11-02" if lost else None,
        "local_close_date": "2026-11-02" if (won or lost) else None,
        "expected_close_date": "2026-12-15",
        "label_ids": [],
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "acv": None,
        "arr": None,
        "mrr": None,
        "custom_fields": _custom(company_id, "deal", custom),
    }


def _deal_lines(deal: dict, products: dict[int, dict], lines: list[dict], first_id: int, tax_method: str) -> list[dict]:
    """Deal product objects for `lines` (product_id, quantity, discount, discount_type, tax, enabled, price?)."""
    out = []
    for index, line in enumerate(lines):
        product = products[line["product_id"]]
        price = line.get("price")
        if price is None:
            price = next(p["price"] for p in product["prices"] if p["currency"] == deal["currency"])
        quantity = Decimal(str(line.get("quantity", 1)))
        discount = Decimal(str(line.get("discount", 0)))
        tax = Decimal(str(line.get("tax", product["tax"])))
        total = line_sum(
            quantity=quantity,
            item_price=Decimal(str(price)),
            discount=discount,
            discount_type=line.get("discount_type", "percentage"),
            tax=tax,
            tax_method=tax_method,
        )
        out.append(
            {
                "id": first_id + index,
                "sum": money(total),
                "tax": money(tax),
                "deal_id": deal["id"],
                "name": product["name"],
                "product_id": product["id"],
                "product_variation_id": None,
                "order_nr": index + 1,
                "add_time": T0,
                "update_time": T1,
                "comments": line.get("comments", ""),
                "currency": deal["currency"],
                "discount": money(discount),
                "quantity": money(quantity),
                "item_price": price,
                "tax_method": tax_method,
                "discount_type": line.get("discount_type", "percentage"),
                "is_enabled": line.get("enabled", True),
                "billing_frequency": product["billing_frequency"],
                "billing_frequency_cycles": None,
                "billing_start_date": "2026-11-02",
            }
        )
    return out


def _acme() -> tuple[dict, list[tuple[int, str, str, bool, str]], dict]:
    c = ACME
    company = {"name": "Acme Robotics (demo)", "domain": "acme-demo", "country": "US", "industry": "Manufacturing"}
    users = [
        (11, "Alice Admin", "alice@acme.test", True, "USD"),
        (12, "Bob Member", "bob@acme.test", False, "USD"),
        # Works in Pipedrive in Ukrainian (issue 14): the app follows her language and formats.
        (13, "Олена Коваленко", "olena@acme.test", False, "USD"),
    ]
    orgs = [
        _organization(
            c,
            1,
            "Initech LLC",
            11,
            address(
                value="4120 Freidrich Lane, Suite 300, Austin, TX 78744, USA",
                country="United States",
                admin_area_level_1="Texas",
                admin_area_level_2="Travis County",
                locality="Austin",
                sublocality="Southeast Austin",
                route="Freidrich Lane",
                street_number="4120",
                subpremise="Suite 300",
                postal_code="78744",
                formatted_address="4120 Freidrich Ln #300, Austin, TX 78744, USA",
            ),
            {
                "VAT number": "US-74-1234567",
                "Billing address": address(
                    value="PO Box 1200, Austin, TX 78767",
                    country="United States",
                    admin_area_level_1="Texas",
                    locality="Austin",
                    postal_code="78767",
                ),
                "Customer tier": 51,
            },
        ),
        # Typed but never geocoded: only `value` and a couple of parts, the rest null.
        _organization(
            c,
            2,
            "Umbrella Corp",
            12,
            address(value="Raccoon City, Midwest", locality="Raccoon City", country=""),
            {"Customer tier": 52},
        ),
        _organization(c, 3, "Hooli", 11, None, {}),
        _organization(
            c,
            4,
            "Stark Industries GmbH",
            12,
            address(
                value="Friedrichstraße 68, 10117 Berlin, Germany",
                country="Germany",
                admin_area_level_1="Berlin",
                admin_area_level_2="Kreisfreie Stadt Berlin",
                locality="Berlin",
                sublocality="Mitte",
                route="Friedrichstraße",
                street_number="68",
                subpremise=None,
                postal_code="10117",
                formatted_address="Friedrichstraße 68, 10117 Berlin, Germany",
            ),
            {"VAT number": "DE123456789"},
        ),
    ]
    persons = [
        _person(
            c,
            1,
            "Peter Gibbons",
            11,
            1,
            [
                ("peter@initech.test", True, "work"),
                ("pgibbons@home.test", False, "home"),
                ("peter.g@other.test", False, "other"),
            ],
            [("+1 512 555 0101", True, "work")],
            {"Invoice email": "ap@initech.test"},
        ),
        # Primary e-mail is not the first one.
        _person(
            c,
            2,
            "Bill Lumbergh",
            11,
            1,
            [("bill@home.test", False, "home"), ("bill@initech.test", True, "work")],
            [],
            {},
        ),
        _person(
            c,
            3,
            "Albert Wesker",
            12,
            2,
            [("wesker@umbrella.test", True, "work")],
            [("+1 555 0199", True, "mobile")],
            {"Tax ID": "UMB-99"},
        ),
        _person(
            c,
            4,
            "Pepper Potts",
            12,
            4,
            [("pepper@stark.test", True, "work"), ("invoices@stark.test", False, "other")],
            [("+49 30 555 0168", True, "work")],
            {},
        ),
        _person(c, 5, "Sam Solo", 11, None, [], [], {}),
    ]
    products = [
        _product(c, 1, "Robot arm R2", "RA-2", "pcs", 8.25, {"USD": 12000, "EUR": 11000}, 11, {"Income category": 61}),
        _product(
            c,
            2,
            "Installation service",
            "SVC-INST",
            "hour",
            8.25,
            {"USD": 150, "EUR": 140, "CAD": 200},
            11,
            {"Income category": 62},
        ),
        _product(
            c,
            3,
            "Maintenance plan",
            "SVC-MAINT",
            "month",
            0,
            {"USD": 499},
            11,
            {"Income category": 62},
            billing="monthly",
        ),
        _product(c, 4, "Gripper kit", "GK-1", "pcs", 19, {"USD": 850.5, "EUR": 790}, 12, {"Income category": 61}),
        _product(c, 5, "Training day", "SVC-TRAIN", "day", 0, {"USD": 1200, "CAD": 1600}, 12, {}),
    ]
    deals = [
        (
            _deal(
                c,
                1,
                "Initech robot line",
                owner=11,
                person_id=1,
                org_id=1,
                currency="USD",
                status="open",
                value=0,
                custom={
                    "Purchase order number": "PO-2026-0042",
                    "Billing address": address(
                        value="4120 Freidrich Lane, Austin, TX 78744",
                        country="United States",
                        admin_area_level_1="Texas",
                        locality="Austin",
                        route="Freidrich Lane",
                        street_number="4120",
                        postal_code="78744",
                        formatted_address="4120 Freidrich Ln, Austin, TX 78744, USA",
                    ),
                    "Contract value": {"value": 26000, "currency": "USD"},
                    "Payment terms": 32,
                    "Services": [41, 43],
                    "Internal notes": "Wants delivery before Q1.",
                },
            ),
            "exclusive",
            [
                {"product_id": 1, "quantity": 2, "discount": 10, "discount_type": "percentage"},
                {"product_id": 2, "quantity": 16, "discount": 200, "discount_type": "amount"},
                {"product_id": 4, "quantity": 1, "enabled": False, "comments": "Optional, customer undecided"},
            ],
        ),
        (
            _deal(
                c,
                2,
                "Stark gripper upgrade",
                owner=12,
                person_id=4,
                org_id=4,
                currency="EUR",
                status="open",
                value=0,
                custom={"Payment terms": 31, "Services": [42], "Contract value": {"value": 9000, "currency": "EUR"}},
            ),
            "inclusive",
            [
                {"product_id": 4, "quantity": 10, "discount": 5, "discount_type": "percentage"},
                {"product_id": 2, "quantity": 3.5, "discount": 40, "discount_type": "amount", "tax": 19},
            ],
        ),
        (
            _deal(
                c,
                3,
                "Umbrella maintenance",
                owner=12,
                person_id=3,
                org_id=2,
                currency="USD",
                status="open",
                value=0,
                custom={"Payment terms": 33},
            ),
            "none",
            [
                {"product_id": 3, "quantity": 12},
                {"product_id": 5, "quantity": 1, "discount": 0, "price": 1100, "comments": "Negotiated price"},
            ],
        ),
        (
            _deal(
                c,
                4,
                "Hooli pilot",
                owner=11,
                person_id=None,
                org_id=3,
                currency="USD",
                status="won",
                value=15000,
                custom={"Services": [41, 42, 43]},
            ),
            "exclusive",
            [],
        ),
        (
            _deal(
                c,
                5,
                "Sam Solo consulting",
                owner=11,
                person_id=5,
                org_id=None,
                currency="CAD",
                status="open",
                value=0,
                custom={},
            ),
            "exclusive",
            [
                {"product_id": 2, "quantity": 1.5, "tax": 13},
                {"product_id": 5, "quantity": 2, "discount": 12.5, "tax": 13},
            ],
        ),
        (
            _deal(
                c,
                6,
                "Umbrella second site",
                owner=12,
                person_id=3,
                org_id=2,
                currency="USD",
                status="lost",
                value=4000,
                custom={},
            ),
            "none",
            [],
        ),
        (
            _deal(
                c,
                7,
                "Duplicate of Initech",
                owner=11,
                person_id=1,
                org_id=1,
                currency="USD",
                status="deleted",
                value=0,
                custom={},
            ),
            "none",
            [],
        ),
    ]
    return company, users, {"organizations": orgs, "persons": persons, "products": products, "deals": deals}


def _borealis() -> tuple[dict, list, dict]:
    c = BOREALIS
    company = {"name": "Borealis Bakery (demo)", "domain": "borealis-demo", "country": "GB", "industry": "Food"}
    users = [
        (21, "Charlie Baker", "charlie@borealis.test", True, "GBP"),
        (22, "Dana Dough", "dana@borealis.test", False, "GBP"),
    ]
    orgs = [
        _organization(
            c,
            1,
            "Crumb & Co Ltd",
            21,
            address(
                value="12 Baker Street, London NW1 6XE, UK",
                country="United Kingdom",
                admin_area_level_1="England",
                admin_area_level_2="Greater London",
                locality="London",
                route="Baker Street",
                street_number="12",
                postal_code="NW1 6XE",
                formatted_address="12 Baker St, London NW1 6XE, UK",
            ),
            {"VAT number": "GB123456789"},
        )
    ]
    persons = [
        _person(
            c,
            1,
            "Charlotte Crumb",
            21,
            1,
            [("accounts@crumb.test", True, "work"), ("charlotte@crumb.test", False, "work")],
            [],
            {},
        )
    ]
    products = [
        _product(c, 1, "Sourdough wholesale crate", "SD-CRATE", "crate", 20, {"GBP": 45}, 21, {"Income category": 61})
    ]
    deals = [
        (
            _deal(
                c,
                1,
                "Crumb & Co weekly bread",
                owner=21,
                person_id=1,
                org_id=1,
                currency="GBP",
                status="open",
                value=0,
                custom={"Payment terms": 31},
            ),
            "inclusive",
            [{"product_id": 1, "quantity": 40, "discount": 10, "discount_type": "percentage"}],
        )
    ]
    return company, users, {"organizations": orgs, "persons": persons, "products": products, "deals": deals}


# Users who work in Pipedrive in another language than their company's country suggests.
USER_LOCALES = {13: "uk_UA"}


# Acme's deal 1 (one-time products only, so installments are allowed) is billed in three installments
# that add up to its value: a deposit, delivery and the final payment. Ids are global (Pipedrive's are).
INSTALLMENT_DEAL = 1
INSTALLMENTS = (
    (1001, "Deposit", dt.date(2026, 12, 1)),
    (1002, "On delivery", dt.date(2027, 1, 4)),
    (1003, "Final payment", dt.date(2027, 2, 1)),
)


def installment_amounts(total: Decimal, parts: int) -> list[Decimal]:
    """`total` split into `parts` cent amounts that add up exactly (the last takes the remainder)."""
    share = (total / parts).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def _seed_installments(company: SandboxCompany, deal_value: Decimal) -> None:
    amounts = installment_amounts(deal_value, len(INSTALLMENTS))
    for (iid, description, billing_date), amount in zip(INSTALLMENTS, amounts, strict=True):
        SandboxInstallment.objects.update_or_create(
            id=iid,
            defaults={
                "company": company,
                "deal_id": INSTALLMENT_DEAL,
                "description": description,
                "amount": amount,
                "billing_date": billing_date,
            },
        )


def _upsert(company: SandboxCompany, kind: str, object_id: int, data: dict, parent_id: int | None = None) -> None:
    SandboxRecord.objects.update_or_create(
        company=company, kind=kind, object_id=object_id, defaults={"data": data, "parent_id": parent_id}
    )


@transaction.atomic
def seed() -> list[SandboxCompany]:
    """Create or refresh the sandbox's demo companies; safe to run any number of times."""
    seeded = []
    for company_id, build in ((ACME, _acme), (BOREALIS, _borealis)):
        info, users, data = build()
        company, _ = SandboxCompany.objects.update_or_create(id=company_id, defaults={"plan": Plan.GROWTH, **info})
        for uid, name, email, is_admin, currency in users:
            locale = USER_LOCALES.get(uid) or ("en_GB" if company.country == "GB" else "en_US")
            SandboxUser.objects.update_or_create(
                id=uid,
                defaults={
                    "company": company,
                    "name": name,
                    "email": email,
                    "is_admin": is_admin,
                    "default_currency": currency,
                    "locale": locale,
                    "language": locale,
                    "timezone_name": "Europe/London" if company.country == "GB" else "America/Chicago",
                    "timezone_offset": "+00:00" if company.country == "GB" else "-06:00",
                },
            )
        for entity, definitions in _field_definitions(company_id).items():
            for order, definition in enumerate(definitions):
                SandboxField.objects.update_or_create(
                    company=company,
                    entity=entity,
                    field_code=definition["field_code"],
                    defaults={"order": order, "data": definition},
                )
        for org in data["organizations"]:
            _upsert(company, "organization", org["id"], org)
        for person in data["persons"]:
            _upsert(company, "person", person["id"], person)
        products = {p["id"]: p for p in data["products"]}
        for product in products.values():
            _upsert(company, "product", product["id"], product)
        for deal, tax_method, lines in data["deals"]:
            deal_lines = _deal_lines(deal, products, lines, first_id=deal["id"] * 100 + 1, tax_method=tax_method)
            if deal_lines:
                # The deal value follows its enabled products (disabled lines are excluded).
                deal["value"] = money(
                    sum((Decimal(str(line["sum"])) for line in deal_lines if line["is_enabled"]), Decimal(0))
                )
            _upsert(company, "deal", deal["id"], deal)
            for line in deal_lines:
                _upsert(company, "deal_product", line["id"], line, parent_id=deal["id"])
            if company_id == ACME and deal["id"] == INSTALLMENT_DEAL:
                _seed_installments(company, Decimal(str(deal["value"])))
        seeded.append(company)
    return seeded
