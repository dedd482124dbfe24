"""What the reverse API does, over the same services as the panel API (invoices.create,
invoices.lifecycle, invoices.access, invoices.selectors, drafts/preflight) plus the QBO reads the
contract needs (customers, items, currencies, tax rates, income accounts). Every function runs
inside the link's company scope."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from integration.errors import TransientError
from integration.quickbooks import documents, entities
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboAccount, QboItem
from invoices import access, create, lifecycle, selectors
from invoices.extension import create_data, mappers
from invoices.extension.catalog import default_income_account, tax_rates_list
from invoices.extension.context import LinkContext
from invoices.extension.errors import ExtensionError, bad_request, not_found
from invoices.models import Invoice, InvoiceEvent
from invoices.sync import company_today
from tenants.models import Company, FieldMapping, Membership

INVOICE_PAGE_SIZE = 50
MAX_IDS = 100


def _client(connection: QuickBooksConnection):
    from integration.quickbooks.services import client_for

    return client_for(connection=connection)


def _us(connection: QuickBooksConnection) -> bool:
    return connection.tax_model == QuickBooksConnection.TaxModel.US


# -- the link ---------------------------------------------------------------------------------


def link_features(*, connection: QuickBooksConnection) -> dict:
    """LinkFeatures of the connected QBO company.

    US companies: sales tax is one rate per invoice on TAX lines (TxnTaxCodeRef), prices never
    include tax → taxExclusive/noTax, `single`. Other countries: a TaxCode per line, prices with
    or without tax (GlobalTaxCalculation) → all three modes, `multiple`. Discounts: a percent per
    line (QBO keeps Pipedrive's discount inside the line amount); no invoice-level discount, as our
    money rules price every line on its own. QBO numbers invoices itself when no number is given.
    """
    us = _us(connection)
    return {
        "invoiceTaxModeOptions": {"taxExclusive": True, "taxInclusive": not us, "noTax": True},
        "invoiceTaxOption": "single" if us else "multiple",
        "invoiceDiscountOptions": {"globalDiscount": False, "lineDiscount": True},
        "invoiceNumberOption": "none",
        "validations": {"product": {key: {"maxLength": limit} for key, limit in mappers.PRODUCT_LIMITS.items()}},
    }


def link_status(*, connection: QuickBooksConnection) -> dict:
    """LinkStatus: authorized while the QBO connection works; `features` describe it."""
    authorized = connection.status == QuickBooksConnection.Status.ACTIVE and connection.company.status == "active"
    status = {"authorized": authorized, "name": connection.company_name or connection.realm_id}
    if authorized:
        status["orgId"] = connection.realm_id
        status["features"] = link_features(connection=connection)
    return status


def connect_url() -> str:
    """Where a user reconnects QuickBooks: our settings page (its QuickBooks card)."""
    from django.urls import reverse

    return f"{settings.PUBLIC_BASE_URL}{reverse('tenants:settings')}"


# -- invoices -----------------------------------------------------------------------------------


def _invoices(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return queryset.select_related("connection", "company").prefetch_related(
        Prefetch("events", queryset=InvoiceEvent.objects.order_by("-created_at", "-id"))
    )


def invoice_of_link(*, ctx: LinkContext, invoice_id: str) -> Invoice:
    """One invoice of this link's connection; anything else (another company's, unknown) is 404."""
    if not str(invoice_id).isdigit():
        raise not_found(_("This invoice is not known."))
    invoice = _invoices(Invoice.objects.filter(connection=ctx.connection, pk=int(invoice_id))).first()
    if invoice is None:
        raise not_found(_("This invoice is not known."))
    return invoice


def require_viewer(ctx: LinkContext) -> None:
    """The same visibility rule as the panel: owner-only companies show invoices to the owner."""
    if ctx.actor is None:
        raise ExtensionError(
            403, "no_actor", _("Nobody holds this QuickBooks connection any more; reconnect it in Settings.")
        )
    refusal = access.viewing_refusal(membership=ctx.actor, connection=ctx.connection)
    if ctx.guest and ctx.company.invoice_visibility != Company.InvoiceVisibility.TEAM:
        # A guest has a plain member's rights: in owner-only companies that is no invoices at all.
        refusal = access.viewing_refusal(membership=_plain_member(ctx), connection=ctx.connection)
    if refusal:
        raise ExtensionError(403, "not_allowed_to_view", refusal)


def _plain_member(ctx: LinkContext) -> Membership:
    """An unsaved member without admin rights, for asking the rules what a guest may do."""
    return Membership(pk=0, company=ctx.company, is_admin=False)  # pk 0: never the owner


def invoice_out(ctx: LinkContext, invoice: Invoice) -> dict:
    """The contract's Invoice with the actions this caller may take (a guest: a plain member's)."""
    return mappers.invoice_out(invoice, actor=_plain_member(ctx) if ctx.guest else ctx.actor)


def require_active(ctx: LinkContext) -> None:
    if ctx.connection.status != QuickBooksConnection.Status.ACTIVE:
        raise ExtensionError(409, "needs_reconnect", _("QuickBooks needs reconnecting before invoices can be changed."))


def invoices_search(*, ctx: LinkContext, params) -> list[dict]:
    """`?ids=a,b,c`, or `?customerId=&startDate=&endDate=&page=` (dates inclusive, pages from 1)."""
    if params.get("ids"):
        ids = [i.strip() for i in str(params["ids"]).split(",") if i.strip()]
        if len(ids) > MAX_IDS or not all(i.isdigit() for i in ids):
            raise bad_request(
                _("ids is a comma-separated list of at most %d invoice ids.") % MAX_IDS, fields={"ids": []}
            )
        found = {str(i.pk): i for i in _invoices(Invoice.objects.filter(connection=ctx.connection, pk__in=ids))}
        invoices = [found[i] for i in ids if i in found]  # in the order asked; unknown ids are left out
    elif params.get("customerId"):
        fields: dict = {}
        start = _date_param(params, "startDate", fields)
        end = _date_param(params, "endDate", fields)
        page = params.get("page") or "1"
        if not str(page).isdigit() or int(page) < 1:
            fields["page"] = [_("Pages start at 1.")]
        if fields:
            raise bad_request(_("Some search parameters are not valid."), fields=fields)
        queryset = selectors.invoices_of_customer(
            company=ctx.company,
            connection=ctx.connection,
            customer_qbo_id=str(params["customerId"]),
            date_from=start,
            date_to=end,
        )
        offset = (int(page) - 1) * INVOICE_PAGE_SIZE
        invoices = list(queryset[offset : offset + INVOICE_PAGE_SIZE])
    else:
        raise bad_request(_("Search by ids, or by customerId with an optional date range."), fields={"ids": []})
    return [invoice_out(ctx, invoice) for invoice in invoices]


def _date_param(params, name: str, fields: dict) -> dt.date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        fields[name] = [_("Use an ISO date like 2026-11-27.")]
        return None


def _idempotency_key(*, ctx: LinkContext, key: str | None, body: bytes) -> str:
    """The create's idempotency key: the caller's, or one derived from the link and the exact body
    within a ten-minute window, so Pipedrive retrying a timed-out create gets the same invoice."""
    if key:
        try:
            return str(uuid.UUID(key))
        except ValueError:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.connection.link_id}:{key}"))
    import hashlib

    digest = hashlib.sha256(body).hexdigest()
    window = int(dt.datetime.now(dt.UTC).timestamp() // 600)

    def key_for(w: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.connection.link_id}:{w}:{digest}"))

    # A retry just after a window boundary finds the create of the window before.
    previous = key_for(window - 1)
    if Invoice.objects.filter(connection=ctx.connection, request_id=previous).exists():
        return previous
    return key_for(window)


def _items_of_lines(client, lines: list[dict]) -> dict[str, QboItem]:
    """The QBO items the lines name, by id; a line naming only a code (the item's SKU) gets its id."""
    item_ids = sorted({str(line.get("productId")) for line in lines if str(line.get("productId") or "").isdigit()})
    items = entities.items_by_ids(client, item_ids)
    codes = sorted(
        {
            str(line["productCode"]).strip()[:100]
            for line in lines
            if not line.get("productId") and str(line.get("productCode") or "").strip()
        }
    )
    if codes:
        by_code = entities.items_by_skus(client, codes)
        for line in lines:
            code = str(line.get("productCode") or "").strip().lower()
            if not line.get("productId") and code in by_code:
                line["productId"] = by_code[code].id
                items[line["productId"]] = by_code[code]
    return items


INCOME_TYPES = {"Income", "Other Income"}


def _account_item(*, connection: QuickBooksConnection, client, account: QboAccount) -> QboItem:
    """The QBO item a product-less line books to `account`.

    A QBO sales line needs an ItemRef and is booked to its item's IncomeAccountRef; a line's own
    ItemAccountRef works only for reimbursable charges (Intuit, Invoice entity; reference
    quickbooks-api.md §3.2). So a line Pipedrive sends with `accountId` and no product goes on a
    Service item named after the account whose IncomeAccountRef is that account: found by name, or
    created once (a deterministic requestid makes concurrent first uses one create)."""
    account_id = account.id
    base = ((account.name or account_id).replace(":", "-").strip() or account_id)[:100]
    for name in (base, f"{base[:88]} ({account_id})"[:100]):
        item = entities.item_by_name(client, name)
        if item is None:
            request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{connection.link_id}:account-item:{account_id}:{name}"))
            body = documents.item_body(creating=True, name=name, income_account_id=account_id)
            return entities.item_create(client, body, request_id=request_id)
        if item.income_account_id == account_id and item.active and item.type in {"Service", "NonInventory"}:
            return item
        # That name belongs to another item (another account, inactive, inventory): the second name.
    raise bad_request(
        _("QuickBooks has items named after this account that cannot take the line; rename them."),
        fields={"accountId": [account_id]},
    )


def _lines_without_product(*, ctx: LinkContext, client, lines: list[dict], items: dict[str, QboItem]) -> None:
    """Give every line without a product the item of its account (`accountId`, else the mapping's
    default income account, else the company's first income account), and check that a product
    line's `accountId`, when given, is its product's income account: QBO books the line there and
    cannot book it elsewhere, so a different account is refused rather than silently ignored."""
    fields: dict[str, list[str]] = {}
    accounts: dict[str, QboAccount | None] = {}

    def account_of(account_id: str) -> QboAccount | None:
        if account_id not in accounts:
            row = entities.account_by_id(client, account_id)
            ok = row is not None and row.active and row.account_type in INCOME_TYPES
            accounts[account_id] = row if ok else None
        return accounts[account_id]

    default_account = ""
    for index, line in enumerate(lines):
        account_id = str(line.get("accountId") or "").strip()
        product = str(line.get("productId") or "").strip()
        if product:
            item = items.get(product)
            booked = item.income_account_id if item is not None else ""
            if item is not None and account_id and booked and account_id != booked:
                fields[f"lineItems[{index}].accountId"] = [
                    _(
                        "QuickBooks books this product to its own income account (%(account)s); choose that "
                        "account, or change the product's account in QuickBooks."
                    )
                    % {"account": item.income_account_name or booked}
                ]
            continue
        if not account_id:
            if not default_account:
                mapping = FieldMapping.objects.filter(company=ctx.company).first()
                default_account = (mapping.default_income_account_id if mapping else "") or default_income_account(
                    ctx.connection, client
                )
            account_id = default_account
        account = account_of(account_id) if account_id.isdigit() else None
        if account is None:
            fields[f"lineItems[{index}].accountId"] = [_("This is not an active income account in QuickBooks.")]
            continue
        item = _account_item(connection=ctx.connection, client=client, account=account)
        line["productId"] = item.id
        items[line["productId"]] = item
        if not str(line.get("description") or "").strip():
            fields[f"lineItems[{index}].description"] = [_("A line without a product needs a description.")]
    if fields:
        raise bad_request(_("Some invoice lines cannot be booked in QuickBooks."), fields=fields)


def invoice_create(*, ctx: LinkContext, body: dict, raw_body: bytes, key: str | None, deal_id: int | None) -> Invoice:
    """postInvoice: InvoiceCreateData → draft → invoices.create.invoice_create (pre-flight,
    customer link/create, the QBO create with a requestid, our records, history with the actor)."""
    require_viewer(ctx)
    require_active(ctx)
    actor = ctx.actor
    if actor is None:  # the member who connected QuickBooks left: nobody to create the invoice as
        raise ExtensionError(409, "needs_reconnect", _("QuickBooks needs reconnecting before invoices can be changed."))
    connection = ctx.connection
    client = _client(connection)
    lines = [
        line for line in (body.get("lineItems") if isinstance(body, dict) else None) or [] if isinstance(line, dict)
    ]
    try:
        items = _items_of_lines(client, lines)
    except TransientError:
        # QuickBooks is down: lines naming their item and price are enough to keep the create as an
        # intent that is retried (pre-flight checks the items again then); others cannot be built.
        if any(not str(line.get("productId") or "").isdigit() or line.get("unitPrice") is None for line in lines):
            raise
        items = {}
    else:
        _lines_without_product(ctx=ctx, client=client, lines=lines, items=items)
    needs_rates = any(isinstance(b, dict) and b.get("taxRateId") for b in [body, *lines])
    rates = {r["id"]: r for r in tax_rates_list(connection=connection)} if needs_rates else {}
    mapping = FieldMapping.objects.filter(company=ctx.company).first()
    draft = create_data.draft_from_create_data(
        body,
        connection=connection,
        features=link_features(connection=connection),
        tax_rates=rates,
        items=items,
        due_days=mapping.due_days if mapping else 30,
        today=company_today(connection),
        deal_id=deal_id,
    )
    if not draft.currency:
        draft.currency = connection.home_currency or "USD"
        if draft.customer.qbo_customer_id.isdigit():
            customer = entities.customer_by_id(client, draft.customer.qbo_customer_id)
            if customer is not None:
                draft.currency = customer.currency or draft.currency
    return create.invoice_create(
        connection=connection,
        draft=draft,
        actor=actor,
        idempotency_key=_idempotency_key(ctx=ctx, key=key, body=raw_body),
    )


def invoice_action(*, ctx: LinkContext, invoice: Invoice, action_id: str) -> Invoice:
    """postInvoiceStatus: VOIDED or DELETED (EMAIL too), as allowed by the invoice's state."""
    require_active(ctx)
    ours = mappers.ACTION_BY_ID.get(str(action_id or "").upper())
    if ctx.guest and ours in {"void", "delete"}:
        raise ExtensionError(
            403,
            "action_not_allowed",
            _("Only the person who connected QuickBooks or a company admin can void or delete invoices."),
        )
    if ours == "void":
        lifecycle.invoice_void(invoice=invoice, actor=ctx.actor)
    elif ours == "delete":
        lifecycle.invoice_delete(invoice=invoice, actor=ctx.actor)
    elif ours == "send":
        lifecycle.invoice_send(invoice=invoice, actor=ctx.actor)
    else:
        raise bad_request(_("Unknown action %(id)s: use VOIDED or DELETED.") % {"id": action_id}, fields={"id": []})
    return invoice_of_link(ctx=ctx, invoice_id=str(invoice.pk))


def invoice_share_url(*, ctx: LinkContext, invoice: Invoice) -> str:
    """QBO's shareable pay link (InvoiceLink), which QBO gives only for invoices with a billing
    email and online payment switched on."""
    require_active(ctx)
    if invoice.state != Invoice.State.CREATED or invoice.status in {"voided", "deleted"}:
        raise ExtensionError(409, "not_shareable", _("Only open or paid invoices can be shared."))
    link = lifecycle.invoice_share_link(invoice=invoice)
    if not link:
        raise ExtensionError(
            409,
            "not_shareable",
            _("QuickBooks offers a share link only for invoices with a billing email and online payment turned on."),
        )
    return str(link)


def summary(*, ctx: LinkContext, params) -> list[dict]:
    """getInvoiceSummary: per currency outstanding/overdue/paid/total of a contact's invoices in
    a date range; `refresh=true` re-reads that contact's invoices from QBO first."""
    fields: dict = {}
    contact = str(params.get("contactId") or "").strip()
    if not contact.isdigit():
        fields["contactId"] = [_("contactId is required.")]
    start = _date_param(params, "from", fields)
    end = _date_param(params, "to", fields)
    if fields:
        raise bad_request(_("Some summary parameters are not valid."), fields=fields)
    if str(params.get("refresh") or "").lower() in {"1", "true", "yes"}:
        require_active(ctx)
        lifecycle.customer_invoices_pull(
            connection=ctx.connection, customer_qbo_id=contact, date_from=start, date_to=end
        )
    queryset = selectors.invoices_of_customer(
        company=ctx.company, connection=ctx.connection, customer_qbo_id=contact, date_from=start, date_to=end
    )
    rows = selectors.summary(queryset, today=company_today(ctx.connection))
    return [{key: value if key == "currency" else Decimal(value) for key, value in row.items()} for row in rows]
