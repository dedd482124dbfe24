"""Typed QBO reads and writes, one function per use: the only place that writes QBO query strings.

Every function takes a `QboClient` (integration.quickbooks.services.client_for) and answers in the
typed shapes of `records` (QboCustomer, QboItem, ...), or raw rows where the caller only hands
them on to a `records` reader (invoices and payments, whose readers also take webhook/CDC rows).
Bodies come from `documents`.
Values go into queries through `quote()` (reference §2.5); ids that must be numbers are int-checked.
Doc: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from integration.quickbooks import documents, records
from integration.quickbooks.client import PdfDownload, QboClient, quote
from integration.quickbooks.records import QboAccount, QboCurrency, QboCustomer, QboItem, QboTaxCode, QboTaxRate

T = TypeVar("T")

ID_CHUNK = 200  # ids per `IN (...)` query, well under QBO's statement limits
ACTIVE_OR_NOT = "Active IN (true, false)"  # QBO's queries leave inactive rows out unless asked


def _quoted(values: Iterable) -> str:
    """A quoted `IN (...)` list of any strings, in a stable order."""
    return ", ".join(quote(str(v)) for v in sorted({str(v) for v in values}))


def _numbers(values: Iterable) -> str:
    """A quoted `IN (...)` list of numeric ids; int() refuses anything else (ValueError)."""
    return ", ".join(f"'{int(v)}'" for v in values)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


def _rows(client: QboClient, sql: str) -> list[dict]:
    return client.query(sql).items


# -- invoices and payments (raw rows: records.invoice_of / payment_of read them) -------------


def invoice_id_by_doc_number(client: QboClient, doc_number: str) -> str | None:
    """The id of an invoice numbered `doc_number`, if QBO has one."""
    rows = _rows(client, f"SELECT Id FROM Invoice WHERE DocNumber = {quote(doc_number)} MAXRESULTS 1")  # noqa: S608
    return str(rows[0].get("Id")) if rows else None


def _by_numeric_ids(client: QboClient, entity: str, ids: Iterable[str]) -> list[dict]:
    """Rows of `entity` with these numeric ids that QBO still has, ID_CHUNK ids per query."""
    wanted = sorted({str(i) for i in ids}, key=int)
    rows: list[dict] = []
    for chunk in _chunks(wanted):
        rows += _rows(client, f"SELECT * FROM {entity} WHERE Id IN ({_numbers(chunk)}) MAXRESULTS 1000")  # noqa: S608
    return rows


def invoices_by_ids(client: QboClient, ids: Iterable[str]) -> list[dict]:
    """The invoices of these numeric ids that QBO still has (rows for records.invoice_of)."""
    return _by_numeric_ids(client, "Invoice", ids)


def payments_by_ids(client: QboClient, ids: Iterable[str]) -> list[dict]:
    """The payments of these numeric ids (rows for records.payment_of)."""
    return _by_numeric_ids(client, "Payment", ids)


def invoices_of_customer(
    client: QboClient, customer_id: str, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Iterator[dict]:
    """Every invoice of a customer issued in the (inclusive) range, all pages."""
    where = [f"CustomerRef = {quote(customer_id)}"]
    if date_from:
        where.append(f"TxnDate >= {quote(date_from.isoformat())}")
    if date_to:
        where.append(f"TxnDate <= {quote(date_to.isoformat())}")
    return client.query_all(f"SELECT * FROM Invoice WHERE {' AND '.join(where)}")  # noqa: S608


def changed_since(client: QboClient, entity: str, since: dt.datetime) -> Iterator[dict]:
    """Every `entity` row updated at or after `since`, all pages (CDC's fallback past its cap)."""
    since_text = quote(since.astimezone(dt.UTC).isoformat(timespec="seconds"))
    if entity not in {"Invoice", "Payment", "CreditMemo", "Customer"}:
        raise ValueError(f"changed_since reads invoices, payments, credit memos or customers, not {entity!r}")
    return client.query_all(f"SELECT * FROM {entity} WHERE MetaData.LastUpdatedTime >= {since_text}")  # noqa: S608


def invoice_get(client: QboClient, invoice_id: str, *, share_link: bool = False) -> dict:
    """One invoice by id (610 → QboNotFound); `share_link` asks for its InvoiceLink too."""
    return client.read("Invoice", invoice_id, include="invoiceLink" if share_link else "")


def invoice_create(client: QboClient, body: dict, *, request_id: str) -> dict:
    """Create an invoice (documents.invoice_body); the same `request_id` replays QBO's first answer."""
    return client.create("Invoice", body, request_id=request_id)


def invoice_void(client: QboClient, invoice_id: str, sync_token: str) -> dict:
    return client.void("Invoice", invoice_id, sync_token)


def invoice_delete(client: QboClient, invoice_id: str, sync_token: str) -> dict:
    return client.delete("Invoice", invoice_id, sync_token)


def invoice_set_copy_to(client: QboClient, invoice_id: str, sync_token: str, address: str) -> dict:
    """Put `address` in copy (BillEmailCc) of the invoice's emails."""
    return client.sparse_update("Invoice", invoice_id, sync_token, documents.invoice_copy_to(address))


def invoice_send(client: QboClient, invoice_id: str, *, to: str) -> dict:
    return client.send_invoice(invoice_id, send_to=to)


def invoice_pdf(client: QboClient, invoice_id: str) -> PdfDownload:
    return client.invoice_pdf(invoice_id)


# -- customers ----------------------------------------------------------------------------------


def _customer(rows: list[dict]) -> QboCustomer | None:
    return records.customer_of(rows[0]) if rows else None


def customer_get(client: QboClient, customer_id: str) -> QboCustomer:
    return records.customer_of(client.read("Customer", customer_id))


def customer_by_id(client: QboClient, customer_id: str) -> QboCustomer | None:
    """The customer, active or not; None when QBO has no such customer."""
    return _customer(_rows(client, f"SELECT * FROM Customer WHERE Id = {quote(customer_id)} AND {ACTIVE_OR_NOT}"))  # noqa: S608


def customer_find_by_name(client: QboClient, name: str) -> QboCustomer | None:
    """The customer (active or not) whose DisplayName is exactly `name` (QBO keeps them unique)."""
    return _customer(
        _rows(client, f"SELECT * FROM Customer WHERE DisplayName = {quote(name)} AND {ACTIVE_OR_NOT} MAXRESULTS 1")  # noqa: S608
    )


def customer_find_by_email(client: QboClient, email: str) -> QboCustomer | None:
    """The first customer (active or not) with this primary email."""
    return _customer(
        _rows(
            client,
            f"SELECT * FROM Customer WHERE PrimaryEmailAddr = {quote(email)} AND {ACTIVE_OR_NOT} MAXRESULTS 1",  # noqa: S608
        )
    )


def customers_search(client: QboClient, term: str, *, limit: int) -> list[QboCustomer]:
    """Customers whose DisplayName contains `term` (all when empty), by name."""
    term = term.strip()[:100]
    where = f" WHERE DisplayName LIKE {quote(f'%{term}%')}" if term else ""
    sql = f"SELECT * FROM Customer{where} ORDERBY DisplayName MAXRESULTS {int(limit)}"  # noqa: S608
    return [records.customer_of(row) for row in _rows(client, sql)]


def customer_create(client: QboClient, body: dict, *, request_id: str | None) -> QboCustomer:
    """Create a customer (documents.customer_body / contact bodies)."""
    return records.customer_of(client.create("Customer", body, request_id=request_id))


def customer_update(client: QboClient, current: QboCustomer, changes: dict, *, request_id: str | None) -> QboCustomer:
    """Sparse update of `current` (stale SyncToken → QboStaleObject)."""
    return records.customer_of(
        client.sparse_update("Customer", current.id, current.sync_token, changes, request_id=request_id)
    )


# -- items --------------------------------------------------------------------------------------


def item_get(client: QboClient, item_id: str) -> QboItem:
    return records.item_of(client.read("Item", item_id))


def items_search(client: QboClient, *, name: str = "", sku: str = "", limit: int) -> list[QboItem]:
    """Items whose Name contains `name`, or whose Sku is `sku` (one condition: QBO has no OR), by name."""
    if name and sku:
        raise ValueError("items_search takes a name or a sku, not both")
    where = ""
    if sku:
        where = f" WHERE Sku = {quote(sku.strip()[:100])}"
    elif name.strip():
        where = f" WHERE Name LIKE {quote('%' + name.strip()[:100] + '%')}"
    sql = f"SELECT * FROM Item{where} ORDERBY Name MAXRESULTS {int(limit)}"  # noqa: S608
    return [records.item_of(row) for row in _rows(client, sql)]


def _by_ids(client: QboClient, entity: str, ids: Iterable[str], read: Callable[[dict], T]) -> dict[str, T]:
    """Rows of `entity` with these ids (quoted, any text), read and keyed by id."""
    ids = list(ids)
    if not ids:
        return {}
    rows = _rows(client, f"SELECT * FROM {entity} WHERE Id IN ({_quoted(ids)})")  # noqa: S608
    return {str(row.get("Id")): read(row) for row in rows}


def items_by_ids(client: QboClient, ids: Iterable[str]) -> dict[str, QboItem]:
    """The (active) items of these ids, by id."""
    return _by_ids(client, "Item", ids, records.item_of)


def items_by_skus(client: QboClient, skus: Iterable[str]) -> dict[str, QboItem]:
    """The (active) items of these SKUs, by lower-cased SKU."""
    skus = list(skus)
    if not skus:
        return {}
    rows = _rows(client, f"SELECT * FROM Item WHERE Sku IN ({_quoted(skus)})")  # noqa: S608
    return {item.sku.lower(): item for item in map(records.item_of, rows)}


def item_by_name(client: QboClient, name: str) -> QboItem | None:
    """The item (active or not) named exactly `name`."""
    rows = _rows(client, f"SELECT * FROM Item WHERE Name = {quote(name)} AND {ACTIVE_OR_NOT}")  # noqa: S608
    return records.item_of(rows[0]) if rows else None


def item_create(client: QboClient, body: dict, *, request_id: str | None) -> QboItem:
    return records.item_of(client.create("Item", body, request_id=request_id))


def item_update(client: QboClient, current: QboItem, changes: dict, *, request_id: str | None) -> QboItem:
    return records.item_of(client.sparse_update("Item", current.id, current.sync_token, changes, request_id=request_id))


# -- accounts, taxes, currencies ----------------------------------------------------------------


def account_by_id(client: QboClient, account_id: str) -> QboAccount | None:
    rows = _rows(client, f"SELECT * FROM Account WHERE Id = {quote(account_id)}")  # noqa: S608
    return records.account_of(rows[0]) if rows else None


def income_accounts(client: QboClient, *, active_only: bool = True) -> list[QboAccount]:
    """Income accounts (what an item's IncomeAccountRef may name): the active ones, or all by name."""
    if active_only:
        rows = client.query_all("SELECT * FROM Account WHERE AccountType = 'Income' AND Active = true")
    else:
        rows = client.query_all("SELECT * FROM Account WHERE AccountType = 'Income' ORDERBY Name")
    return [records.account_of(row) for row in rows]


def first_income_account(client: QboClient) -> QboAccount | None:
    rows = _rows(client, "SELECT * FROM Account WHERE AccountType = 'Income' AND Active = true MAXRESULTS 1")
    return records.account_of(rows[0]) if rows else None


def tax_codes(client: QboClient, *, active_only: bool = True) -> list[QboTaxCode]:
    sql = "SELECT * FROM TaxCode WHERE Active = true" if active_only else "SELECT * FROM TaxCode"
    return [records.tax_code_of(row) for row in client.query_all(sql)]


def tax_codes_by_ids(client: QboClient, ids: Iterable[str]) -> dict[str, QboTaxCode]:
    return _by_ids(client, "TaxCode", ids, records.tax_code_of)


def tax_rates(client: QboClient) -> list[QboTaxRate]:
    """The active tax rates."""
    return [records.tax_rate_of(row) for row in client.query_all("SELECT * FROM TaxRate WHERE Active = true")]


def tax_rates_by_ids(client: QboClient, ids: Iterable[str]) -> dict[str, QboTaxRate]:
    return _by_ids(client, "TaxRate", ids, records.tax_rate_of)


def company_currencies(client: QboClient) -> list[QboCurrency]:
    """The active currencies of a multicurrency company."""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companycurrency
    rows = client.query_all("SELECT * FROM CompanyCurrency WHERE Active = true")
    return [records.currency_of(row) for row in rows]
