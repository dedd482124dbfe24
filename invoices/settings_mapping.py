"""The invoice field mapping on the settings page: what can be chosen (read from Pipedrive and
QuickBooks) and saving the admin's choices."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from integration.errors import IntegrationError
from integration.pipedrive import lists as pipedrive_lists
from integration.pipedrive.selectors import installation_for, installations_of_company
from integration.pipedrive.shapes import Entity
from integration.quickbooks import entities as qbo_entities
from integration.quickbooks import selectors as qbo_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import TaxCodeMapping
from tenants.models import Company, FieldMapping, Membership
from tenants.scoping import company_scope

logger = logging.getLogger(__name__)

ENTITIES: tuple[Entity, ...] = ("organization", "person", "deal")
# Field types whose value reads as text on an invoice (names, addresses, e-mails, ids, options).
TEXT_TYPES = {"varchar", "varchar_auto", "text", "address", "enum", "varchar_options", "email"}
TARGETS = ("to", "address", "email", "tax_id")
# "person:email" is the field code personFields lists; the v2 person carries it as `emails`
# (integration/pipedrive/fields.py V2_OBJECT_KEYS, README "Person fields (API v2)").
RECOMMENDED = {"to": "organization:name", "address": "organization:address", "email": "person:email"}


def choice_value(entity: str, key: str) -> str:
    return f"{entity}:{key}" if entity and key else ""


def split_choice(value: str) -> tuple[str, str]:
    entity, _sep, key = (value or "").partition(":")
    return entity, key


@dataclass
class MappingOptions:
    """Everything the mapping form offers; `*_error` says why a source could not be read."""

    fields: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # entity -> [(value, label)]
    pipedrive_error: str = ""
    currencies: list[str] = field(default_factory=list)
    connection: QuickBooksConnection | None = None
    income_accounts: list[tuple[str, str]] = field(default_factory=list)
    tax_codes: list[tuple[str, str]] = field(default_factory=list)
    tax_rates: list[Decimal] = field(default_factory=list)
    quickbooks_error: str = ""

    @property
    def uses_tax_codes(self) -> bool:
        """Non-US QuickBooks companies need a TaxCode on every line; US ones use TAX/NON."""
        return self.connection is not None and self.connection.tax_model == QuickBooksConnection.TaxModel.GLOBAL

    def field_values(self) -> set[str]:
        return {value for choices in self.fields.values() for value, _label in choices}


def _rate(value) -> Decimal | None:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return plain_rate(rate) if rate.is_finite() and 0 <= rate < 100 else None


def plain_rate(rate: Decimal) -> Decimal:
    """20.0000 -> 20, 7.2500 -> 7.25 (never 2E+1)."""
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def _pipedrive_options(options: MappingOptions, *, company: Company, membership: Membership | None) -> None:
    installation = installation_for(company=company, membership=membership)
    if installation is None:
        if installations_of_company(company=company).exists():
            # Others installed it; Pipedrive is read with each user's own access (token sharing is off).
            options.pipedrive_error = _(
                "You have not installed the app in Pipedrive for your own user; install it to read the fields."
            )
        else:
            options.pipedrive_error = _(
                "Pipedrive is not installed for this company; reinstall the app to read its fields."
            )
        return
    try:
        for entity in ENTITIES:
            options.fields[entity] = [
                (choice_value(entity, d["field_code"]), str(d.get("field_name") or d["field_code"]))
                for d in pipedrive_lists.fields(installation=installation, entity=entity)
                if d.get("field_code") and d.get("field_type") in TEXT_TYPES
            ]
        options.currencies = sorted(
            {str(c["code"]) for c in pipedrive_lists.currencies(installation=installation) if c.get("code")}
        )
        rates = {_rate(tax) for tax in pipedrive_lists.product_taxes(installation=installation)}
        options.tax_rates = sorted(r for r in rates if r is not None)
    except IntegrationError as exc:
        logger.warning("settings: Pipedrive fields unavailable for company %s: %s", company.pk, exc)
        options.pipedrive_error = _("Pipedrive did not answer (%(reason)s); try again in a minute.") % {
            "reason": exc.message
        }


def _quickbooks_options(options: MappingOptions) -> None:
    from integration.quickbooks.services import client_for

    connection = options.connection
    if connection is None or connection.status != QuickBooksConnection.Status.ACTIVE:
        return
    try:
        client = client_for(connection=connection)
        options.income_accounts = [
            (a.id, a.full_name or a.id) for a in qbo_entities.income_accounts(client, active_only=False)
        ]
        if options.uses_tax_codes:
            options.tax_codes = [(c.id, c.name or c.id) for c in qbo_entities.tax_codes(client)]
    except IntegrationError as exc:
        logger.warning("settings: QuickBooks lists unavailable for company %s: %s", connection.company_id, exc)
        options.quickbooks_error = _("QuickBooks did not answer (%(reason)s); try again in a minute.") % {
            "reason": exc.message
        }


def mapping_options(*, company: Company, membership: Membership | None) -> MappingOptions:
    """Read the choosable fields, currencies, tax rates (Pipedrive) and accounts, tax codes (QuickBooks)."""
    options = MappingOptions(connection=qbo_selectors.connection_live(company=company))
    _pipedrive_options(options, company=company, membership=membership)
    _quickbooks_options(options)
    if options.connection is not None:
        with company_scope(company):
            known = list(
                TaxCodeMapping.objects.filter(connection=options.connection).values_list("tax_rate", flat=True)
            )
        options.tax_rates = sorted({*options.tax_rates, *(plain_rate(r) for r in known)})
    return options


def tax_codes_current(*, connection: QuickBooksConnection | None) -> dict[Decimal, str]:
    """rate -> QBO TaxCode id chosen for it."""
    if connection is None:
        return {}
    with company_scope(connection.company):
        return {plain_rate(m.tax_rate): m.qbo_tax_code_id for m in TaxCodeMapping.objects.filter(connection=connection)}


def mapping_get(*, company: Company) -> FieldMapping:
    with company_scope(company):
        mapping, _created = FieldMapping.objects.get_or_create(company=company)
    return mapping


@transaction.atomic
def mapping_save(
    *,
    company: Company,
    targets: dict[str, str],
    due_days: int,
    default_currency: str,
    default_tax_mode: str,
    default_income_account_id: str,
    send_after_create: bool,
    invoice_visibility: str,
    pipedrive_token_sharing: bool | None = None,
    deal_notes: bool | None = None,
    connection: QuickBooksConnection | None = None,
    tax_codes: dict[Decimal, str] | None = None,
    tax_code_names: dict[str, str] | None = None,
) -> FieldMapping:
    """Store the admin's mapping and defaults (already validated by the form); `tax_codes` maps a
    Pipedrive tax rate to a QBO TaxCode id, an empty id forgets the rate."""
    with company_scope(company):
        mapping, _created = FieldMapping.objects.select_for_update().get_or_create(company=company)
        for target in TARGETS:
            entity, key = split_choice(targets.get(target, ""))
            setattr(mapping, f"{target}_entity", entity)
            setattr(mapping, f"{target}_key", key)
        mapping.due_days = due_days
        mapping.default_currency = default_currency
        mapping.default_tax_mode = default_tax_mode
        mapping.default_income_account_id = default_income_account_id
        mapping.send_after_create = send_after_create
        mapping.full_clean()
        mapping.save()
        if company.invoice_visibility != invoice_visibility:
            company.invoice_visibility = invoice_visibility
            company.save(update_fields=["invoice_visibility", "updated_at"])
        if pipedrive_token_sharing is not None and company.pipedrive_token_sharing != pipedrive_token_sharing:
            company.pipedrive_token_sharing = pipedrive_token_sharing
            company.save(update_fields=["pipedrive_token_sharing", "updated_at"])
        if deal_notes is not None and company.deal_notes != deal_notes:
            company.deal_notes = deal_notes
            company.save(update_fields=["deal_notes", "updated_at"])
        if connection is not None and tax_codes is not None:
            names = tax_code_names or {}
            for rate, code in tax_codes.items():
                if code:
                    TaxCodeMapping.objects.update_or_create(
                        connection=connection,
                        tax_rate=rate,
                        defaults={"company": company, "qbo_tax_code_id": code, "tax_code_name": names.get(code, "")},
                    )
                else:
                    TaxCodeMapping.objects.filter(connection=connection, tax_rate=rate).delete()
    return mapping
