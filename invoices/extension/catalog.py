"""The reverse API's QuickBooks catalog: reference data (currencies, tax rates, income accounts),
contacts (QBO customers) and products (QBO items), in the contract's shapes (mappers). Every
function runs inside the link's company scope."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from integration.quickbooks import documents, entities, records
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboItem
from invoices import lookups
from invoices.extension import mappers
from invoices.extension.errors import bad_request, not_found
from tenants.models import FieldMapping

SEARCH_LIMIT = 50


def _client(connection: QuickBooksConnection):
    from integration.quickbooks.services import client_for

    return client_for(connection=connection)


def _us(connection: QuickBooksConnection) -> bool:
    return connection.tax_model == QuickBooksConnection.TaxModel.US


# -- reference data -----------------------------------------------------------------------------


CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
}


def currencies_list(*, connection: QuickBooksConnection) -> list[dict]:
    """The home currency, plus the active CompanyCurrency rows when multicurrency is on."""
    home = connection.home_currency or "USD"
    result = [{"id": home, "name": CURRENCY_NAMES.get(home, home)}]
    if connection.multicurrency_enabled:
        for currency in entities.company_currencies(_client(connection)):
            if currency.code and currency.code != home:
                result.append({"id": currency.code, "name": currency.name})
    return result


def _rate_sum(code: records.QboTaxCode, rates: dict[str, Decimal]) -> Decimal:
    return sum((rates.get(rate_id, Decimal("0")) for rate_id in code.sales_rate_ids), Decimal("0"))


def tax_rates_list(*, connection: QuickBooksConnection) -> list[dict]:
    """Tax rates as {id, name, rate}. Non-US: each sales TaxCode with the sum of its rates (lines
    carry the TaxCode). US: TAX/NON semantics — each tax group (the invoice's TxnTaxCodeRef, its
    lines TAX) and "NON" at 0 % (lines NON)."""
    client = _client(connection)
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/taxrate
    rates = {r.id: Decimal(str(r.rate or 0)) for r in entities.tax_rates(client)}
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/taxcode
    codes = entities.tax_codes(client)
    result = []
    if _us(connection):
        for code in codes:
            if code.tax_group:
                result.append({"id": code.id, "name": code.name, "rate": _rate_sum(code, rates)})
        result.append({"id": "NON", "name": _("Non-taxable"), "rate": Decimal("0")})
    else:
        for code in codes:
            if code.sales_rate_ids:
                result.append({"id": code.id, "name": code.name, "rate": _rate_sum(code, rates)})
    return result


def accounts_list(*, connection: QuickBooksConnection) -> list[dict]:
    """Active income accounts (what an item's IncomeAccountRef may name)."""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
    return [{"id": a.id, "name": a.name} for a in entities.income_accounts(_client(connection))]


# -- contacts -----------------------------------------------------------------------------------


def contact_get(*, connection: QuickBooksConnection, contact_id: str) -> dict:
    return mappers.contact_out(entities.customer_get(_client(connection), _qbo_id(contact_id)))


def contacts_search(*, connection: QuickBooksConnection, name: str) -> list[dict]:
    rows = lookups.customers_search(connection=connection, term=name, limit=SEARCH_LIMIT)
    return [mappers.contact_out(c) for c in rows]


def contact_create(*, connection: QuickBooksConnection, body, request_id: str | None) -> dict:
    qbo = mappers.contact_in(body, creating=True)
    if connection.multicurrency_enabled and isinstance(body, dict) and body.get("currency"):
        qbo = documents.with_currency(qbo, str(body["currency"]).upper()[:3])
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#create-a-customer
    return mappers.contact_out(entities.customer_create(_client(connection), qbo, request_id=request_id))


def contact_update(*, connection: QuickBooksConnection, contact_id: str, body, request_id: str | None) -> dict:
    changes = mappers.contact_in(body, creating=False)
    client = _client(connection)
    current = entities.customer_get(client, _qbo_id(contact_id))
    if not changes:
        return mappers.contact_out(current)
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer#sparse-update-a-customer
    return mappers.contact_out(entities.customer_update(client, current, changes, request_id=request_id))


# -- products -----------------------------------------------------------------------------------


def product_get(*, connection: QuickBooksConnection, product_id: str) -> dict:
    return mappers.product_out(entities.item_get(_client(connection), _qbo_id(product_id)), connection=connection)


def products_search(*, connection: QuickBooksConnection, name: str, code: str, force_code: bool) -> list[dict]:
    """By name (case-insensitive, part of it), by code (the item's SKU, exact), or by code only."""
    conditions = []
    if code:
        conditions.append({"sku": code})
    if name and not force_code:
        conditions.append({"name": name})
    client = _client(connection)
    found: dict[str, QboItem] = {}
    # QBO's query language has no OR: one query per condition, merged.
    for condition in conditions or [{}]:
        for item in entities.items_search(client, limit=SEARCH_LIMIT, **condition):
            found.setdefault(item.id, item)
    return [mappers.product_out(i, connection=connection) for i in found.values() if i.type != "Category"]


def default_income_account(connection: QuickBooksConnection, client) -> str:
    """The mapping's default income account for new products and product-less lines, else QBO's first."""
    mapping = FieldMapping.objects.filter(company=connection.company_id).first()
    if mapping and mapping.default_income_account_id:
        return mapping.default_income_account_id
    account = entities.first_income_account(client)
    if account is None:
        raise bad_request(_("QuickBooks has no income account for new products."), fields={"accountId": []})
    return account.id


def product_create(*, connection: QuickBooksConnection, body, request_id: str | None) -> dict:
    qbo = mappers.product_in(body, connection=connection, creating=True)
    client = _client(connection)
    if not documents.item_names_income_account(qbo):
        qbo = documents.with_income_account(qbo, default_income_account(connection, client))
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/item#create-an-item
    return mappers.product_out(entities.item_create(client, qbo, request_id=request_id), connection=connection)


def product_update(*, connection: QuickBooksConnection, product_id: str, body, request_id: str | None) -> dict:
    changes = mappers.product_in(body, connection=connection, creating=False)
    client = _client(connection)
    current = entities.item_get(client, _qbo_id(product_id))
    if not changes:
        return mappers.product_out(current, connection=connection)
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/item#sparse-update-an-item
    return mappers.product_out(
        entities.item_update(client, current, changes, request_id=request_id), connection=connection
    )


def _qbo_id(value: str) -> str:
    value = str(value or "").strip()
    if not value.isdigit() or len(value) > 20:
        raise not_found(_("QuickBooks does not have this object (deleted, inactive or unknown)."))
    return value
