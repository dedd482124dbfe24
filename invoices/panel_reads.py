"""The panel's two hot reads, lean: GET /api/v1/deals/{id}/invoices and GET /api/v1/contact-invoices.

A sales rep's panel reloads on every deal page, so these are the requests we serve most (issue 12).
Profiled in-process (bench/profile_panel.py, README "Performance"), the time went to PostgreSQL
*planning* five or six statements per request (4-9 ms for the joins and subqueries on this machine,
more than running them), the round trips to it, and DRF's dispatch around them. So:

- GETs are answered by a plain Django view (`fast_reads` wraps the DRF view of the same URL, which
  still answers every other method and documents the GET in the OpenAPI schema). Authentication is
  the same function as DRF's (`jwt.request_claims`), errors go through the DRF view's own
  `handle_exception` (the one error-to-response mapping), rendered with orjson.
- One statement per request (`_statement`): the member and the connection re-checked (see "seat"),
  the invoices with their deal ids, last events and payments as JSON lists, and the deal's won flag.
  On PostgreSQL it is a prepared statement (planned once per database connection, not per request).
- No model instances, no DRF serializer or renderer; the JSON is the shape `InvoiceSerializer`
  documents (tests compare them); the summary per currency is computed from the rows read.
- An ETag: a revalidation that finds nothing new gets 304 from one smaller statement (the seat and
  the ETag's aggregates), with nothing read or serialized.

The ETag hashes what the body depends on: count, sum of `panel_version` and sum of ids of the
invoices shown (triggers give an invoice a fresh version on every write to it, its deal links or
its events; migration invoices 0003), the deal's won flag or the contact's customer, the company's
"today" (overdue is computed at read time), the member and their rights, the connection's displayed
facts and the language.

The module is split by job: panel_sql.py (the statements and the prepared cursor), panel_json.py (rows
to JSON, the ETag, the responses), panel_seats.py (the plain views and the remembered seats); this
module runs the statements and answers the two reads.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
from django.db import InterfaceError, OperationalError
from django.db import connection as db
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, WonDeal
from invoices.panel_json import CENT, Reader, _conditional, _matches, _row, json_response, not_modified
from invoices.panel_seats import SeatChanged, _seats, fast_reads, forget_seats
from invoices.panel_sql import _STATEMENTS, BALANCE_COLUMNS, SEAT_COLUMNS, _build, _cursor
from invoices.selectors import HISTORY_LIMIT
from invoices.serializers import InvoiceSerializer, RangeSerializer
from invoices.won import flag_of

__all__ = ["_seats", "forget_seats"]  # re-exported: tests and conftest reset the remembered seats


# -- running the statements ---------------------------------------------------------------------


def _statement(key: tuple, params: dict) -> list[tuple]:
    """Run the statement for `key` (built once per process); its rows."""
    sql = _STATEMENTS.get(key)
    if sql is None:
        sql = _STATEMENTS[key] = _build(key)
    live1, live2 = QuickBooksConnection.LIVE_STATUSES
    params = {
        **params,
        "live1": str(live1),
        "live2": str(live2),
        "history": HISTORY_LIMIT,
        "created": str(Invoice.State.CREATED),
    }
    try:
        return _run(sql, params)
    except (OperationalError, InterfaceError):
        if db.in_atomic_block:
            raise
        db.close()  # a persistent connection that died since its last request: one retry (reads only)
        return _run(sql, params)


def _run(sql: str, params: dict) -> list[tuple]:
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- the reads ----------------------------------------------------------------------------------


def _params(view, **more) -> dict:
    return {
        "membership": view.membership.pk,
        "company": view.company.pk,
        "connection": view.connection.pk if view.connection is not None else None,
        **more,
    }


def _checked(row: tuple | None, fingerprint: tuple | None) -> tuple:
    """`row` if its seat columns match `fingerprint` (None: the seat was just read, nothing to compare)."""
    if row is None:
        if fingerprint is None:
            raise exceptions.AuthenticationFailed(_("The Pipedrive token is not valid."), code="unknown_user")
        raise SeatChanged
    if fingerprint is not None and tuple(row[:SEAT_COLUMNS]) != fingerprint:
        raise SeatChanged
    return row


def _won_key(state, problems, invoice_id) -> str:
    return f"{state}|{problems}|{invoice_id}" if state else ""


def deal_invoices(view, request, deal_id: int, *, fingerprint: tuple | None = None) -> HttpResponse:
    """GET /api/v1/deals/{deal_id}/invoices (and the answer of POST .../refresh) for a view whose
    `membership`, `company` and `connection` are set: one statement, or one smaller one for a 304."""
    params = _params(view, deal_id=deal_id)
    won_at = SEAT_COLUMNS  # won state, problems, invoice id follow the seat's columns
    if _conditional(request):
        heads = _statement(("deal", "head"), params)
        row = heads[0] if heads else None
        row = _checked(row, fingerprint)
        view.require_viewer()
        count, versions, ids = row[won_at + 3 :]
        etag = Reader(view).etag(
            count=count, versions=int(versions), ids=int(ids), extra=_won_key(*row[won_at : won_at + 3])
        )
        if _matches(request, etag):
            return not_modified(etag)
        fingerprint = None  # just checked
    rows = _statement(("deal", "full"), params)
    first = _checked(rows[0] if rows else None, fingerprint)
    view.require_viewer()
    reader = Reader(view)
    state, problems, won_invoice = first[won_at : won_at + 3]
    invoices = [_row(r[won_at + 3 :]) for r in rows if r[won_at + 3] is not None]
    won = WonDeal(state=state, problems=orjson.loads(problems), invoice_id=won_invoice) if state else None
    body = {
        "connection": view.connection_info(),
        "invoices": [reader.invoice(row) for row in invoices],
        "summary": reader.summary(invoices),
        "won": flag_of(won),  # money loop: "Won, not invoiced: 2 problems"
    }
    return json_response(body, etag=reader.etag_of_rows(invoices, extra=_won_key(state, problems, won_invoice)))


def contact_invoices(
    view, request, *, deal_id: int, customer_qbo_id: str | None, date_from, date_to, fingerprint: tuple | None = None
) -> HttpResponse | None:
    """GET /api/v1/contact-invoices: the invoices of the deal's QuickBooks customer in a date range.
    `customer_qbo_id` None: the customer of the deal's newest invoice, read in the same statement;
    None is returned when the deal has none (the DRF view then asks Pipedrive for the contact's)."""
    given = customer_qbo_id is not None
    key = (date_from is not None, date_to is not None, given)
    params = _params(view, deal_id=deal_id, customer=customer_qbo_id, date_from=date_from, date_to=date_to)
    after = SEAT_COLUMNS + 1 + BALANCE_COLUMNS  # the seat, the customer, its balance; then the rest
    if _conditional(request):
        heads = _statement(("contact", "head", *key), params)
        row = heads[0] if heads else None
        row = _checked(row, fingerprint)
        view.require_viewer()
        customer, balance = row[SEAT_COLUMNS], row[SEAT_COLUMNS + 1 : after]
        count, versions, ids = row[after:]
        if not customer:
            return None
        extra = f"{customer}|{_balance_key(balance)}"
        etag = Reader(view).etag(count=count, versions=int(versions), ids=int(ids), extra=extra)
        if _matches(request, etag):
            return not_modified(etag)
        fingerprint = None
    rows = _statement(("contact", "full", *key), params)
    first = _checked(rows[0] if rows else None, fingerprint)
    view.require_viewer()
    customer, balance = first[SEAT_COLUMNS], first[SEAT_COLUMNS + 1 : after]
    if not customer:
        return None
    reader = Reader(view)
    invoices = [_row(r[after:]) for r in rows if r[after] is not None]
    body = {
        "customer_qbo_id": customer,
        "invoices": [reader.invoice(row) for row in invoices],
        "summary": reader.summary(invoices),
        "balance": _balance(balance),  # money loop: the customer's open balance and unapplied credit
    }
    return json_response(body, etag=reader.etag_of_rows(invoices, extra=f"{customer}|{_balance_key(balance)}"))


def _balance_key(columns) -> str:
    return "|".join("" if value is None else str(value) for value in columns)


def _balance(columns) -> dict | None:
    """The customer's stored balance (invoices/credit.py), None before the first sync read it."""
    open_balance, unapplied, currency = columns
    if open_balance is None:
        return None
    return {
        "open_balance": str(Decimal(str(open_balance)).quantize(CENT)),
        "unapplied_credit": str(Decimal(str(unapplied)).quantize(CENT)),
        "currency": currency or "",
    }


def _contact_read(view, request, *, fingerprint: tuple | None = None) -> HttpResponse | None:
    query = RangeSerializer(data=request.GET)
    if not query.is_valid():
        view.require_viewer()  # as the DRF view: a member who may not see invoices learns only that
        raise exceptions.ValidationError(query.errors)
    if query.validated_data.get("refresh"):
        return None  # pulls from QuickBooks first: the DRF view does that
    return contact_invoices(
        view,
        request,
        deal_id=query.validated_data["deal_id"],
        customer_qbo_id=None,
        date_from=query.validated_data.get("date_from"),
        date_to=query.validated_data.get("date_to"),
        fingerprint=fingerprint,
    )


def _deal_read(view, request, *, deal_id: int, fingerprint: tuple | None = None) -> HttpResponse:
    return deal_invoices(view, request, deal_id, fingerprint=fingerprint)


def deal_invoices_endpoint(drf_view):
    return fast_reads(drf_view, _deal_read)


def contact_invoices_endpoint(drf_view):
    return fast_reads(drf_view, _contact_read, key_params=tuple(RangeSerializer().fields))


# -- OpenAPI: the shapes above, documented (never used to render) -------------------------------


class CurrencySummary(serializers.Serializer):
    currency = serializers.CharField()
    outstanding = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    overdue = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    paid = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    total = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)


class ConnectionInfo(serializers.Serializer):
    status = serializers.CharField()
    company_name = serializers.CharField(required=False)
    home_currency = serializers.CharField(required=False)
    owner = serializers.CharField(required=False)


class WonFlag(serializers.Serializer):
    """Money loop: the deal was won and the "invoice when won" rule ran (invoices/won.py)."""

    state = serializers.CharField()
    # DRF's metaclass takes declared fields out of the class; the stubs see Field.label here.
    label = serializers.CharField()  # type: ignore[assignment]
    problems = serializers.ListField(child=serializers.DictField())
    invoice_id = serializers.IntegerField(allow_null=True)


class DealInvoices(serializers.Serializer):
    connection = ConnectionInfo()
    invoices = InvoiceSerializer(many=True)
    summary = CurrencySummary(many=True)
    won = WonFlag(allow_null=True)


class CustomerBalanceInfo(serializers.Serializer):
    open_balance = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    unapplied_credit = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()


class ContactInvoices(serializers.Serializer):
    customer_qbo_id = serializers.CharField()
    balance = CustomerBalanceInfo(allow_null=True)
    invoices = InvoiceSerializer(many=True)
    summary = CurrencySummary(many=True)


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the body you hold: 304 with no body when nothing changed.",
)
NOT_MODIFIED = OpenApiResponse(description="Nothing changed since the ETag sent in If-None-Match.")


def read_schema(body, *, summary: str, parameters=()):
    """extend_schema for a conditional panel read: 200 with ETag, or 304."""
    return extend_schema(
        summary=summary,
        parameters=[*parameters, IF_NONE_MATCH],
        responses={
            200: OpenApiResponse(
                response=body,
                description="The body, with `ETag` and `Cache-Control: private, no-cache`.",
            ),
            304: NOT_MODIFIED,
        },
    )
