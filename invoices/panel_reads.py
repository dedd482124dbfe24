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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps

import orjson
from django.db import InterfaceError, OperationalError
from django.db import connection as db
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers

from integration.pipedrive.jwt import authenticated_membership, request_claims
from integration.quickbooks import selectors as qbo_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices import access, lifecycle, validation
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent, InvoicePayment, WonDeal
from invoices.selectors import HISTORY_LIMIT, LIVE
from invoices.serializers import InvoiceSerializer, RangeSerializer
from invoices.status import LABELS, Status, allowed_actions, effective_status, is_past_due, pipedrive_status
from invoices.sync import company_today
from invoices.won import flag_of
from tenants.language import activate_for_membership
from tenants.models import Company, Membership, User
from tenants.scoping import company_scope

# Bump when the response shape changes, so no client keeps a body of the old shape.
SHAPE = "2"
CENT = Decimal("0.01")
ZERO = Decimal("0")
CACHE_CONTROL = "private, no-cache"  # always revalidate; the ETag makes that a 304
FIELDS = (
    "id",
    "qbo_id",
    "doc_number",
    "state",
    "status",
    "customer_name",
    "customer_qbo_id",
    "bill_email",
    "currency",
    "total",
    "balance",
    "tax_total",
    "txn_date",
    "due_date",
    "sent",
    "last_error",
    "panel_version",
)

# -- the statements -----------------------------------------------------------------------------
#
# Hand-written (PostgreSQL and SQLite): the ORM spent longer compiling these than the database
# spent running them. Every statement starts with the seat's columns (SEAT_COLUMNS) (fingerprint()), so the
# member's rights and the connection are re-checked in the same round trip that reads the data.

SEAT_COLUMNS = 18

_SEAT = """
    SELECT m.id AS m_id, m.pipedrive_user_id AS m_user, m.is_admin AS m_admin,
           m.language AS m_lang, m.pipedrive_language AS m_pd_lang, u.is_active AS u_active,
           c.id AS c_id, c.pipedrive_company_id AS c_pd, c.status AS c_status, c.invoice_visibility AS c_vis,
           q.id AS q_id, q.status AS q_status, q.owner_id AS q_owner, q.company_name AS q_name,
           q.home_currency AS q_currency, q.timezone AS q_tz, ou.name AS o_name, ou.email AS o_email
    FROM {membership} m
    JOIN {user} u ON u.id = m.user_id
    JOIN {company} c ON c.id = m.company_id
    LEFT JOIN {connection} q ON q.id = (
        SELECT q2.id FROM {connection} q2
        WHERE q2.company_id = m.company_id AND q2.status IN (%(live1)s, %(live2)s) ORDER BY q2.id LIMIT 1
    )
    LEFT JOIN {membership} om ON om.id = q.owner_id
    LEFT JOIN {user} ou ON ou.id = om.user_id
    WHERE m.id = %(membership)s"""

_WON = """
    SELECT state AS won_state, CAST(problems AS TEXT) AS won_problems, invoice_id AS won_invoice
    FROM {won} WHERE company_id = %(company)s AND deal_id = %(deal_id)s"""

# The deal's invoices / the contact's invoices in a date range (alias i).
# The invoice's company is bound by the link's (l.company_id) and by the connection, which is the
# company's own (the seat's). Not repeated as i.company_id = %(company)s: with both company and
# connection on the invoice, PostgreSQL multiplied their selectivities, expected 10 of the company's
# 1,000 invoices, and hashed them all rather than looking up the deal's 25 by primary key.
_OF_DEAL = (
    "JOIN {deal} l ON l.invoice_id = i.id"
    " WHERE l.company_id = %(company)s AND l.deal_id = %(deal_id)s AND i.connection_id = %(connection)s"
)
_OF_CUSTOMER = (
    "WHERE i.company_id = %(company)s AND i.connection_id = %(connection)s AND i.state = %(created)s"
    " AND i.customer_qbo_id = ({customer}){date_from}{date_to}"
)
# The deal's QuickBooks customer: that of its newest invoice that has one (Invoice's ordering).
_CUSTOMER = """
    SELECT ci.customer_qbo_id FROM {invoice} ci JOIN {deal} cl ON cl.invoice_id = ci.id
    WHERE cl.company_id = %(company)s AND cl.deal_id = %(deal_id)s AND ci.connection_id = %(connection)s
      AND ci.customer_qbo_id <> ''
    ORDER BY ci.txn_date DESC, ci.id DESC LIMIT 1"""

_AGGREGATES = """
    SELECT COUNT(i.id) AS n, COALESCE(SUM(i.panel_version), 0) AS v, COALESCE(SUM(i.id), 0) AS s
    FROM {invoice} i {where}"""


def _json_list(expr: str, order: str) -> str:
    """A JSON list aggregate as text; its rows come from a subquery already in `order`."""
    if db.vendor == "postgresql":
        return f"CAST(COALESCE(json_agg({expr} ORDER BY {order}), '[]'::json) AS TEXT)"
    return f"json_group_array({expr})"  # SQLite aggregates in the subquery's order


def _json_array(*exprs: str) -> str:
    return ("json_build_array({})" if db.vendor == "postgresql" else "json_array({})").format(", ".join(exprs))


def _invoices(where: str) -> str:
    """The invoices matching `where`, each with its deal ids, last events and payments (JSON lists)."""
    columns = ", ".join(f"i.{name}" for name in FIELDS)
    # The invoices are filtered first, then their lists read: without the fence PostgreSQL read the
    # lists of all the company's invoices before joining to the deal's 25 (45 ms instead of 1).
    fence = " OFFSET 0" if db.vendor == "postgresql" else ""
    deal_ids = _json_list("x.deal_id", "x.deal_id")
    history = _json_list(
        _json_array("h.kind", "h.message", "h.actor_id", "h.name", "h.email", "h.created_at"),
        "h.created_at DESC, h.id DESC",
    )
    payments = _json_list(
        _json_array(
            "p.txn_date", "CAST(p.amount AS TEXT)", "CAST(p.credit_applied AS TEXT)", "p.currency", "p.method",
            "p.reference",
        ),
        "p.txn_date, p.id",
    )  # fmt: skip
    return f"""
    SELECT {columns},
      (SELECT {deal_ids} FROM (
          SELECT deal_id FROM {{deal}} WHERE company_id = %(company)s AND invoice_id = i.id ORDER BY deal_id
      ) x) AS deal_ids,
      (SELECT {history} FROM (
          SELECT e.id, e.kind, e.message, e.actor_id, eu.name, eu.email, e.created_at FROM {{event}} e
          LEFT JOIN {{membership}} em ON em.id = e.actor_id LEFT JOIN {{user}} eu ON eu.id = em.user_id
          WHERE e.company_id = %(company)s AND e.invoice_id = i.id
          ORDER BY e.created_at DESC, e.id DESC LIMIT %(history)s
      ) h) AS history,
      (SELECT {payments} FROM (
          SELECT id, txn_date, amount, credit_applied, currency, method, reference FROM {{payment}}
          WHERE company_id = %(company)s AND invoice_id = i.id ORDER BY txn_date, id
      ) p) AS payments
    FROM (SELECT {columns} FROM {{invoice}} i {where}{fence}) i"""  # noqa: S608 (our names; values are parameters)


def _build(key: tuple) -> str:
    """The statement for `key`: (deal|contact, head|full[, has date_from, has date_to, customer given])."""
    what, part, *dates = key
    if what == "deal":
        where, extra_columns, extra_join = (
            _OF_DEAL,
            "w.won_state, w.won_problems, w.won_invoice",
            f"LEFT JOIN ({_WON}) w ON 1 = 1",
        )
        prefix = ""
    else:
        has_from, has_to, given = dates
        customer = "CAST(%(customer)s AS TEXT)" if given else _CUSTOMER  # given: named by Pipedrive
        where = (
            _OF_CUSTOMER.replace("{customer}", "SELECT customer FROM k")
            .replace("{date_from}", " AND i.txn_date >= %(date_from)s" if has_from else "")
            .replace("{date_to}", " AND i.txn_date <= %(date_to)s" if has_to else "")
        )
        extra_columns, extra_join = "k.customer", "LEFT JOIN k ON 1 = 1"
        prefix = f"WITH k AS (SELECT ({customer}) AS customer) "  # read once, used twice
    if part == "head":
        sql = (
            f"{prefix}SELECT s.*, {extra_columns}, e.n, e.v, e.s FROM ({_SEAT}) s {extra_join}"  # noqa: S608
            f" CROSS JOIN ({_AGGREGATES.replace('{where}', where)}) e"
        )
    else:
        sql = (
            f"{prefix}SELECT s.*, {extra_columns}, inv.* FROM ({_SEAT}) s {extra_join}"  # noqa: S608
            f" LEFT JOIN ({_invoices(where)}) inv ON 1 = 1 ORDER BY inv.txn_date DESC, inv.id DESC"
        )
    tables = {
        "membership": Membership._meta.db_table,
        "user": User._meta.db_table,
        "company": Company._meta.db_table,
        "connection": QuickBooksConnection._meta.db_table,
        "invoice": Invoice._meta.db_table,
        "deal": InvoiceDeal._meta.db_table,
        "event": InvoiceEvent._meta.db_table,
        "payment": InvoicePayment._meta.db_table,
        "won": WonDeal._meta.db_table,
    }
    for name, table in tables.items():
        sql = sql.replace("{" + name + "}", table)
    return sql


_STATEMENTS: dict[tuple, str] = {}

try:  # PostgreSQL: the hot statements are prepared once per database connection
    import psycopg

    class _PreparedCursor(psycopg.Cursor):
        """Server-side binding with prepare=True: PostgreSQL plans the statement once per
        connection (Django's own cursors bind client-side and never prepare)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

except ImportError:  # pragma: no cover (SQLite-only installs)
    _PreparedCursor = None  # type: ignore[misc,assignment]  # psycopg absent: no prepared cursor


def _cursor():
    """A cursor through Django's wrappers (error translation, query logging for tests), prepared on
    PostgreSQL."""
    if db.vendor != "postgresql" or _PreparedCursor is None:
        return db.cursor()
    # No CONN_HEALTH_CHECKS "SELECT 1" round trip first: _statement retries once on a fresh
    # connection instead, which is what that check is for (a connection that died between requests).
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        if db.connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (for poolers); prepare=True needs a threshold,
            # set beyond reach so that only our explicit prepares happen (Django's cursors bind
            # client-side and never prepare). Behind PgBouncer < 1.21 in transaction mode, set
            # DATABASE_URL's pool to session mode: prepared statements live in a server session.
            db.connection.prepare_threshold = 2**31 - 1
        raw = _PreparedCursor(db.connection)
    # Django wraps the raw DB-API cursor here; the stubs name the wrapper type as the argument.
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)  # type: ignore[arg-type]


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


# -- rows to JSON -------------------------------------------------------------------------------


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _utc(value) -> dt.datetime:
    """A timestamp read as text (JSON from PostgreSQL, SQLite's storage) as an aware UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _row(values: tuple) -> dict:
    """A raw invoice row with Python types (SQLite gives text dates, numbers for decimals, 0/1), its
    JSON lists decoded."""
    row = dict(zip(FIELDS, values[: len(FIELDS)], strict=True))
    for name in ("total", "balance", "tax_total"):
        if not isinstance(row[name], Decimal):
            row[name] = Decimal(str(row[name]))
    row["txn_date"], row["due_date"] = _date(row["txn_date"]), _date(row["due_date"])
    row["sent"] = bool(row["sent"])
    deal_ids, history, payments = (orjson.loads(v) if v else [] for v in values[len(FIELDS) :])
    row["deal_ids"] = deal_ids
    row["history"] = [
        {
            "kind": kind,
            "message": message,
            "actor": (name or email) if actor_id else "",
            "created_at": _utc(created_at).isoformat().replace("+00:00", "Z"),
        }
        for kind, message, actor_id, name, email, created_at in history
    ]
    row["payments"] = [
        {
            "date": txn_date,
            "amount": str(Decimal(amount).quantize(CENT)),
            "credit_applied": str(Decimal(credit).quantize(CENT)),
            "currency": currency or row["currency"],
            "method": method,
            "reference": reference,
        }
        for txn_date, amount, credit, currency, method, reference in payments
    ]
    return row


class Reader:
    """Renders one request's invoices; the per-member facts are worked out once, not per row."""

    def __init__(self, view):
        self.view = view
        self.company = view.company
        self.membership = view.membership
        self.connection = view.connection
        self.today = company_today(self.connection)
        self.may_void = access.can_void_or_delete(membership=self.membership, connection=self.connection)
        self._labels: dict = {}
        self._pipedrive: dict = {}

    # -- ETag --------------------------------------------------------------------------------

    def context_key(self) -> str:
        """Everything besides the invoices that the body depends on."""
        info = self.view.connection_info()
        return "|".join(
            str(part)
            for part in (
                SHAPE,
                self.today.isoformat(),
                self.membership.pk,
                self.membership.is_admin,
                self.company.invoice_visibility,
                self.connection.pk,
                self.connection.owner_id,
                *(info[k] for k in sorted(info)),
                translation.get_language(),
            )
        )

    def etag(self, *, count: int, versions: int, ids: int, extra: str = "") -> str:
        digest = hashlib.blake2b(
            f"{self.context_key()}|{extra}|{count}|{versions}|{ids}".encode(), digest_size=16
        ).hexdigest()
        return f'"{digest}"'

    def etag_of_rows(self, rows: list[dict], *, extra: str = "") -> str:
        """The ETag of rows read for a 200: the same as the head statement's aggregates give."""
        return self.etag(
            count=len(rows),
            versions=sum(r["panel_version"] for r in rows),
            ids=sum(r["id"] for r in rows),
            extra=extra,
        )

    # -- rows --------------------------------------------------------------------------------

    def _label(self, status: Status) -> str:
        if status not in self._labels:
            self._labels[status] = str(LABELS[status])
        return self._labels[status]

    def _pipedrive_status(self, status: Status, sent: bool) -> dict:
        key = (status, sent)
        if key not in self._pipedrive:
            mapped = pipedrive_status(status, sent=sent)
            self._pipedrive[key] = {"code": mapped.code, "label": str(mapped.label)}
        return self._pipedrive[key]

    def invoice(self, row: dict) -> dict:
        """One invoice as InvoiceSerializer renders it."""
        status = effective_status(status=row["status"], due_date=row["due_date"], today=self.today)
        if row["state"] == Invoice.State.CREATED:
            actions = list(allowed_actions(Status(row["status"])))
            if not self.may_void:
                actions = [a for a in actions if a not in {"void", "delete"}]
        else:
            actions = []
        qbo_id = row["qbo_id"]
        return {
            "id": row["id"],
            "qbo_id": qbo_id,
            "doc_number": row["doc_number"],
            "state": row["state"],
            "status": status.value,
            "status_label": self._label(status),
            "pipedrive_status": self._pipedrive_status(status, row["sent"]),
            "customer_name": row["customer_name"],
            "customer_qbo_id": row["customer_qbo_id"],
            "bill_email": row["bill_email"],
            "currency": row["currency"],
            "total": str(Decimal(row["total"]).quantize(CENT)),
            "balance": str(Decimal(row["balance"]).quantize(CENT)),
            "tax_total": str(Decimal(row["tax_total"]).quantize(CENT)),
            "txn_date": row["txn_date"].isoformat() if row["txn_date"] else None,
            "due_date": row["due_date"].isoformat() if row["due_date"] else None,
            "sent": row["sent"],
            "last_error": row["last_error"],
            "actions": actions,
            "quickbooks_url": lifecycle.qbo_deep_link(qbo_id=qbo_id)
            if qbo_id and row["status"] != Status.DELETED
            else "",
            "deal_ids": row["deal_ids"],
            "history": row["history"],
            "payments": row["payments"],
        }

    def summary(self, rows: list[dict]) -> list[dict]:
        """selectors.summary computed from the rows already read (no query)."""
        sums: dict[str, list[Decimal]] = {}
        for row in rows:
            if row["state"] != Invoice.State.CREATED or row["status"] not in LIVE:
                continue
            total, balance = Decimal(row["total"]), Decimal(row["balance"])
            acc = sums.setdefault(row["currency"], [ZERO, ZERO, ZERO, ZERO])
            acc[0] += balance
            if balance > 0 and is_past_due(row["due_date"], today=self.today):
                acc[1] += balance
            acc[2] += total - balance
            acc[3] += total
        return [
            {
                "currency": currency,
                **{
                    key: str(value.quantize(CENT))
                    for key, value in zip(("outstanding", "overdue", "paid", "total"), sums[currency], strict=True)
                },
            }
            for currency in sorted(sums)
        ]


# -- responses ----------------------------------------------------------------------------------


def _matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


def _conditional(request) -> bool:
    return request.method in ("GET", "HEAD") and bool(request.headers.get("If-None-Match"))


def not_modified(etag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Authorization, Accept-Language"
    return response


def json_response(payload, *, etag: str | None = None, status: int = 200) -> HttpResponse:
    # default=str: lazy translations in error bodies
    response = HttpResponse(orjson.dumps(payload, default=str), content_type="application/json", status=status)
    if etag:
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
        response["Vary"] = "Authorization, Accept-Language"
    return response


# -- the reads ----------------------------------------------------------------------------------


class SeatChanged(Exception):
    """The remembered member or connection no longer matches the database: authenticate afresh."""


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
    if _conditional(request):
        heads = _statement(("contact", "head", *key), params)
        row = heads[0] if heads else None
        row = _checked(row, fingerprint)
        view.require_viewer()
        customer, count, versions, ids = row[SEAT_COLUMNS:]
        if not customer:
            return None
        etag = Reader(view).etag(count=count, versions=int(versions), ids=int(ids), extra=customer)
        if _matches(request, etag):
            return not_modified(etag)
        fingerprint = None
    rows = _statement(("contact", "full", *key), params)
    first = _checked(rows[0] if rows else None, fingerprint)
    view.require_viewer()
    customer = first[SEAT_COLUMNS]
    if not customer:
        return None
    reader = Reader(view)
    invoices = [_row(r[SEAT_COLUMNS + 1 :]) for r in rows if r[SEAT_COLUMNS + 1] is not None]
    body = {
        "customer_qbo_id": customer,
        "invoices": [reader.invoice(row) for row in invoices],
        "summary": reader.summary(invoices),
    }
    return json_response(body, etag=reader.etag_of_rows(invoices, extra=customer))


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


# -- the plain views ----------------------------------------------------------------------------


def _error(view, request, exc: Exception) -> HttpResponse:
    """The DRF view's own handle_exception (PanelApi's mapping and tenants.api.exception_handler:
    one error envelope for the whole panel API), rendered with orjson."""
    if not hasattr(request, "accepted_renderer"):  # DRF reads it when an exception is uncaught (DEBUG)
        from rest_framework.renderers import JSONRenderer

        request.accepted_renderer = JSONRenderer()
    response = view.handle_exception(exc)
    out = json_response(response.data, status=response.status_code)
    for header in ("WWW-Authenticate", "Retry-After"):
        if response.has_header(header):
            out[header] = response[header]
    return out


def fast_reads(drf_view, read):
    """The URL's view: GET and HEAD answered by `read(view, request, fingerprint=…, **kwargs)` with
    no DRF dispatch (`read` may return None to hand the request to DRF); every other method by
    `drf_view`. It carries drf_view's attributes (its class, which documents the GET in the OpenAPI
    schema; csrf_exempt; non-atomic requests).

    The member and connection are remembered per (Pipedrive company, user) for SEAT_SECONDS; the
    token is verified on every request by the same function as DRF's authentication class."""

    @wraps(drf_view)
    def endpoint(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return drf_view(request, *args, **kwargs)
        view = drf_view.view_class(**drf_view.view_initkwargs)
        view.request, view.args, view.kwargs, view.headers = request, args, kwargs, {}
        try:
            claims = request_claims(request)
            if claims is None:
                raise exceptions.NotAuthenticated()
            if not validation.path_ids_bounded(kwargs):
                raise exceptions.NotFound()
            seat = _seats.get((claims.company_id, claims.user_id))
            if seat is None or seat.expires <= time.monotonic():
                seat = _load_seat(claims)
            response = None
            for last in (False, True):
                view.membership, view.company, view.connection = (
                    seat.membership,
                    seat.membership.company,
                    seat.connection,
                )
                activate_for_membership(request, seat.membership)  # as the authentication class does
                try:
                    with company_scope(view.company):
                        response = read(view, request, fingerprint=None if last else seat.fingerprint, **kwargs)
                    break
                except SeatChanged:
                    seat = _load_seat(claims)
        except Exception as exc:  # every error is answered by the API's one mapping
            return _error(view, request, exc)
        return drf_view(request, *args, **kwargs) if response is None else response

    return endpoint


def deal_invoices_endpoint(drf_view):
    return fast_reads(drf_view, _deal_read)


def contact_invoices_endpoint(drf_view):
    return fast_reads(drf_view, _contact_read)


# -- the member and the connection, remembered per process -------------------------------------
#
# A panel read needs the member (from the token's claims) and the company's live connection: two
# queries before any invoice is read. Each process remembers them per (Pipedrive company, user) for
# SEAT_SECONDS. The token itself is verified on every request (signature, lifetime, claims), and a
# remembered seat is re-checked against the database on every request, in the same statement that
# reads the invoices (or the ETag's aggregates): if the company was uninstalled, the member removed
# or deactivated, their rights or the company's visibility changed, or the connection was
# disconnected, replaced or changed, the seat is dropped and the request authenticates from scratch
# (401 when it must). So nothing is served on stale rights, and no code elsewhere has to remember to
# invalidate anything.

SEAT_SECONDS = 30.0
SEAT_LIMIT = 10_000  # entries per process; cleared when full (a cache, not a store)


@dataclass(frozen=True)
class Seat:
    membership: Membership
    connection: QuickBooksConnection | None
    fingerprint: tuple
    expires: float


_seats: dict[tuple[int, int], Seat] = {}
_seats_lock = threading.Lock()


def forget_seats() -> None:
    with _seats_lock:
        _seats.clear()


def fingerprint(membership: Membership, connection: QuickBooksConnection | None) -> tuple:
    """What a read's rights and body depend on, besides the invoices: the seat columns (_SEAT) of
    every statement, in the same order."""
    company = membership.company
    owner = connection.owner if connection is not None and connection.owner_id else None
    return (
        membership.pk,
        membership.pipedrive_user_id,
        membership.is_admin,
        membership.language,  # the body's language (tenants/language.py)
        membership.pipedrive_language,
        membership.user.is_active,
        company.pk,
        company.pipedrive_company_id,
        company.status,
        company.invoice_visibility,
        *(
            (
                connection.pk,
                connection.status,
                connection.owner_id,
                connection.company_name,
                connection.home_currency,
                connection.timezone,
                owner.user.name if owner else None,
                owner.user.email if owner else None,
            )
            if connection is not None
            else (None,) * 8
        ),
    )


def _load_seat(claims) -> Seat:
    """The member (as PipedrivePanelAuthentication finds it: 401 when it must) and the connection,
    read afresh and remembered."""
    with _seats_lock:
        _seats.pop((claims.company_id, claims.user_id), None)
    membership = authenticated_membership(claims)
    connection = qbo_selectors.connection_live(company=membership.company)
    seat = Seat(
        membership=membership,
        connection=connection,
        fingerprint=fingerprint(membership, connection),
        expires=time.monotonic() + SEAT_SECONDS,
    )
    with _seats_lock:
        if len(_seats) >= SEAT_LIMIT:
            _seats.clear()
        _seats[(claims.company_id, claims.user_id)] = seat
    return seat


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


class ContactInvoices(serializers.Serializer):
    customer_qbo_id = serializers.CharField()
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
