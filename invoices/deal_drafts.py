"""A draft from a Pipedrive deal: the deal, its organization and person read through the company's
field mapping (custom fields decoded), its products as lines, the remembered QuickBooks links, and
the suggested customer. `invoices.drafts` holds the draft's shape."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django.utils.translation import gettext as _

from integration.pipedrive import client as pipedrive
from integration.pipedrive.fields import field_value, primary_value, standard_raw
from integration.pipedrive.models import PipedriveInstallation
from integration.pipedrive.shapes import Deal, Entity
from integration.quickbooks.models import QuickBooksConnection
from invoices import money
from invoices.drafts import Draft, DraftAddress, DraftCustomer, DraftLine, difference_from_deal
from invoices.models import CustomerLink, ProductLink, TaxCodeMapping
from invoices.sync import company_today
from tenants.models import CUSTOM_FIELD_KEY, FieldMapping


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # person emails/phones (v2): [{"value": ..., "primary": true, "label": ...}, ...]
        if value and not isinstance(value[0], dict):
            return str(value[0] or "")
        return primary_value(value)
    if isinstance(value, dict):
        return str(value.get("value") or value.get("formatted_address") or "")
    return str(value)


class _Sources:
    """The deal, its organization and person, and their field definitions, fetched at most once."""

    def __init__(self, installation: PipedriveInstallation, deal: Deal):
        self.installation = installation
        self.deal = deal
        self.entities: dict[str, Mapping[str, Any] | None] = {"deal": deal}
        self.definitions: dict[str, list] = {}

    def entity(self, name: str) -> Mapping[str, Any] | None:
        if name not in self.entities:
            org_id, person_id = self.deal.get("org_id"), self.deal.get("person_id")
            if name == "organization" and org_id:
                self.entities[name] = pipedrive.organization_get(installation=self.installation, organization_id=org_id)
            elif name == "person" and person_id:
                self.entities[name] = pipedrive.person_get(installation=self.installation, person_id=person_id)
            else:
                self.entities[name] = None
        return self.entities[name]

    def value(self, entity_name: str, key: str) -> Any:
        entity = self.entity(entity_name) if entity_name else None
        if entity is None or not key:
            return None
        if CUSTOM_FIELD_KEY.match(key) or key in {"address", "postal_address"}:
            if entity_name not in self.definitions:
                # entity() read it, so it is the deal, its organization or its person.
                self.definitions[entity_name] = pipedrive.fields_list(
                    installation=self.installation, entity=cast(Entity, entity_name)
                )
            decoded = field_value(entity, key, self.definitions[entity_name])
            if decoded is not None:
                return decoded.value
        if CUSTOM_FIELD_KEY.match(key):
            return (entity.get("custom_fields") or {}).get(key)
        return standard_raw(entity, key)  # the `email` field code is the v2 person's `emails` list


def suggest_customer(*, connection: QuickBooksConnection, customer: DraftCustomer) -> None:
    """No remembered link: suggest the QBO customer with the same email, else the same name
    (inactive ones too: the user can reactivate rather than duplicate)."""
    from integration.quickbooks import entities
    from integration.quickbooks.services import client_for

    client = client_for(connection=connection)
    for reason, find, value in (
        ("email", entities.customer_find_by_email, customer.email),
        ("name", entities.customer_find_by_name, customer.name),
    ):
        if not value:
            continue
        found = find(client, value)
        if found is not None:
            customer.qbo_customer_id, customer.suggestion_reason = found.id, reason
            customer.suggestion_active = found.active
            return


def _customer_name(sources: _Sources, mapping: FieldMapping) -> str:
    """The mapped name; a deal without an organization falls back to its person's name (issue 13),
    and the other way round, so the customer is never nameless when the deal has a contact."""
    name = _text(sources.value(mapping.to_entity, mapping.to_key))
    for entity in ("person", "organization"):
        if name.strip():
            break
        name = _text(sources.value(entity, "name"))
    return name.strip()[:500]


def deal_customer_id(
    *,
    installation: PipedriveInstallation,
    connection: QuickBooksConnection,
    mapping: FieldMapping,
    deal_id: int,
) -> str:
    """The QBO customer of a deal's contact ("" when none is known): the remembered customer link of its
    organization (else person), else the customer with the mapped email, else with the mapped name.

    Invoices made in Pipedrive's own invoice tab carry no deal (the invoicing contract names none), so
    our panel finds them through the contact, the way its draft suggests a customer."""
    deal = pipedrive.deal_get(installation=installation, deal_id=deal_id)
    for entity, pipedrive_id in (("organization", deal.get("org_id")), ("person", deal.get("person_id"))):
        if pipedrive_id:
            link = CustomerLink.objects.filter(connection=connection, entity=entity, pipedrive_id=pipedrive_id).first()
            if link is not None:
                return link.qbo_customer_id
    sources = _Sources(installation, deal)
    customer = DraftCustomer(
        name=_customer_name(sources, mapping),
        email=_text(sources.value(mapping.email_entity, mapping.email_key))[:100],
    )
    suggest_customer(connection=connection, customer=customer)
    return customer.qbo_customer_id


def draft_from_deal(
    *,
    installation: PipedriveInstallation,
    connection: QuickBooksConnection,
    mapping: FieldMapping,
    deal_id: int,
) -> Draft:
    """Build the draft for a deal: mapped customer details, product lines, dates, suggestions."""
    deal = pipedrive.deal_get(installation=installation, deal_id=deal_id)
    sources = _Sources(installation, deal)
    address_value = sources.value(mapping.address_entity, mapping.address_key)
    customer = DraftCustomer(
        name=_customer_name(sources, mapping),
        email=_text(sources.value(mapping.email_entity, mapping.email_key))[:100],
        tax_id=_text(sources.value(mapping.tax_id_entity, mapping.tax_id_key))[:50],
        address=DraftAddress.from_value(address_value)
        if not isinstance(address_value, dict)
        else DraftAddress(line1=_text(address_value)),
    )
    org_id, person_id = deal.get("org_id"), deal.get("person_id")
    if org_id:
        customer.pipedrive_entity, customer.pipedrive_id = "organization", int(org_id)
    elif person_id:
        customer.pipedrive_entity, customer.pipedrive_id = "person", int(person_id)

    link = None
    if customer.pipedrive_id is not None:
        link = CustomerLink.objects.filter(
            connection=connection, entity=customer.pipedrive_entity, pipedrive_id=customer.pipedrive_id
        ).first()
    if link is not None:
        customer.qbo_customer_id, customer.suggestion_reason = link.qbo_customer_id, "linked"
    else:
        suggest_customer(connection=connection, customer=customer)

    products = pipedrive.deal_products_list(installation=installation, deal_id=deal_id)
    remembered = {
        p.pipedrive_product_id: p
        for p in ProductLink.objects.filter(
            connection=connection,
            pipedrive_product_id__in=[p.get("product_id") for p in products if p.get("product_id")],
        )
    }
    lines: list[DraftLine] = []
    total = Decimal("0")
    tax_methods = set()
    for product in products:
        if product.get("is_enabled") is False:
            continue
        product_id = product.get("product_id")
        product_link = remembered.get(product_id) if product_id is not None else None
        line = DraftLine(
            name=str(product.get("name") or _("Product %(id)s") % {"id": product_id}),
            quantity=str(product.get("quantity", 1)),
            item_price=str(product.get("item_price", 0)),
            discount=str(product.get("discount") or 0),
            discount_type=str(product.get("discount_type") or "percentage"),
            tax=str(product.get("tax") or 0),
            tax_method=str(product.get("tax_method") or "none"),
            pipedrive_product_id=product_id,
            pipedrive_sum=str(product["sum"]) if product.get("sum") is not None else None,
            description=str(product.get("comments") or product.get("name") or "")[:4000],
            qbo_item_id=product_link.qbo_item_id if product_link else "",
            qbo_item_name=product_link.item_name if product_link else "",
        )
        try:
            result = money.price_line(line.deal_line(check_pipedrive_sum=True))
            line.net, line.tax_amount, line.total = str(result.net), str(result.tax), str(result.total)
            total += result.total
        except money.MoneyError as exc:
            line.error = exc.message
        tax_methods.add(line.tax_method)
        lines.append(line)

    if connection.tax_model == QuickBooksConnection.TaxModel.GLOBAL:
        # Non-US companies: the tax code the admin chose for each Pipedrive tax rate (settings page).
        codes = {m.tax_rate: m.qbo_tax_code_id for m in TaxCodeMapping.objects.filter(connection=connection)}
        for line in lines:
            with contextlib.suppress(ArithmeticError):  # an unreadable rate stays without a code
                line.tax_code = line.tax_code or codes.get(Decimal(line.tax or "0"), "")

    today = company_today(connection)
    tax_mode = tax_methods.pop() if len(tax_methods) == 1 else mapping.default_tax_mode
    currency = str(deal.get("currency") or mapping.default_currency or connection.home_currency or "")
    try:
        deal_value = str(money.round2(money.to_decimal(deal.get("value") or 0, field="value")))
    except money.MoneyError:
        deal_value = ""
    draft = Draft(
        deal_id=int(deal_id),
        deal_title=str(deal.get("title") or ""),
        currency=currency,
        customer=customer,
        lines=lines,
        issue_date=today.isoformat(),
        due_date=(today + dt.timedelta(days=mapping.due_days)).isoformat(),
        tax_mode=tax_mode,
        send_email=mapping.send_after_create,
        total=str(money.round2(total)),
        deal_value=deal_value,
        deal_currency=str(deal.get("currency") or ""),
    )
    draft.difference = difference_from_deal(draft, draft.total)
    return draft
