"""The panel's two hot reads, lean: GET /api/v1/deals/{id}/invoices and GET /api/v1/contact-invoices.

A sales rep's panel reloads on every deal page, so these are the requests we serve most (issue 12).
They answer in a fixed number of hand-written queries (no model instances, no encrypted connection
fields decrypted per row, no ORM compile, no DRF serializer or renderer), render with orjson, and
carry an ETag: a revalidation that finds nothing new gets 304 with nothing read or serialized.

The ETag hashes what the body depends on: count, sum of `panel_version` and sum of ids of the
invoices shown (triggers give an invoice a fresh version on every write to it, its deal links or
its events; migration invoices 0003), the company's "today" (overdue is computed at read time), the
member and their rights, the connection's displayed facts and the language. The JSON shape is the
one `InvoiceSerializer` documents (tests compare them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import orjson
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers

from integration.pipedrive.jwt import (
    PanelAuth,
    PanelTokenError,
    membership_for_claims,
    request_claims,
)
from integration.quickbooks import selectors as qbo_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices import access, lifecycle, validation
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent, InvoicePayment
from invoices.selectors import HISTORY_LIMIT, LIVE
from invoices.serializers import InvoiceSerializer
from invoices.status import LABELS, Status, allowed_actions, effective_status, is_past_due, pipedrive_status
from invoices.sync import company_today
from tenants.api import CompanyScopedApi
from tenants.models import Membership
from tenants.scoping import enter_company_scope, exit_company_scope

# Bump when the response shape changes, so no client keeps a body of the old shape.
SHAPE = "1"
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


def deal_invoices_queryset(view, deal_id: int):
    return Invoice.objects.filter(company=view.company, connection=view.connection, deal_links__deal_id=deal_id)


_SELECT = "SELECT " + ", ".join(f"i.{name}" for name in FIELDS) + " FROM {invoice} i "  # noqa: S608 (our column names)
_ORDER = " ORDER BY i.txn_date DESC, i.id DESC"


def deal_invoices_sql(view, deal_id: int) -> tuple[str, list]:
    """deal_invoices_queryset's rows as hand-written SQL (the ORM compile cost more than the query)."""
    sql = (
        _SELECT
        + "JOIN {deal} l ON l.invoice_id = i.id WHERE i.company_id = %s AND i.connection_id = %s"
        + " AND l.company_id = %s AND l.deal_id = %s"
        + _ORDER
    )
    tables = {"invoice": Invoice._meta.db_table, "deal": InvoiceDeal._meta.db_table}
    return sql.format(**tables), [view.company.pk, view.connection.pk, view.company.pk, deal_id]


def customer_invoices_sql(view, *, customer_qbo_id: str, date_from, date_to) -> tuple[str, list]:
    """customer_invoices_queryset's rows as hand-written SQL."""
    from django.db import connection as db

    sql = _SELECT + "WHERE i.company_id = %s AND i.connection_id = %s AND i.customer_qbo_id = %s AND i.state = %s"
    params = [view.company.pk, view.connection.pk, customer_qbo_id, str(Invoice.State.CREATED)]
    if date_from:
        sql += " AND i.txn_date >= %s"
        params.append(db.ops.adapt_datefield_value(date_from))
    if date_to:
        sql += " AND i.txn_date <= %s"
        params.append(db.ops.adapt_datefield_value(date_to))
    return (sql + _ORDER).format(invoice=Invoice._meta.db_table), params


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _row(values: tuple) -> dict:
    """A raw invoice row with Python types (SQLite gives text dates, numbers for decimals, 0/1)."""
    row = dict(zip(FIELDS, values, strict=True))
    for name in ("total", "balance", "tax_total"):
        if not isinstance(row[name], Decimal):
            row[name] = Decimal(str(row[name]))
    row["txn_date"], row["due_date"] = _date(row["txn_date"]), _date(row["due_date"])
    row["sent"] = bool(row["sent"])
    return row


def customer_invoices_queryset(view, *, customer_qbo_id: str, date_from: dt.date | None, date_to: dt.date | None):
    queryset = Invoice.objects.filter(
        company=view.company,
        connection=view.connection,
        customer_qbo_id=customer_qbo_id,
        state=Invoice.State.CREATED,
    )
    if date_from:
        queryset = queryset.filter(txn_date__gte=date_from)
    if date_to:
        queryset = queryset.filter(txn_date__lte=date_to)
    return queryset


# Deal links and history by hand-written SQL (PostgreSQL and SQLite): the ORM spent longer compiling
# the window query than the database spent running it. Tables are filled in on first use.
_LINKS_SQL = """
    SELECT invoice_id, deal_id FROM {deal}
    WHERE company_id = %s AND invoice_id IN ({ids}) ORDER BY deal_id"""
_EVENTS_SQL = """
    SELECT invoice_id, kind, message, actor_id, name, email, created_at FROM (
        SELECT e.invoice_id, e.kind, e.message, e.actor_id, u.name, u.email, e.created_at, e.id,
               ROW_NUMBER() OVER (PARTITION BY e.invoice_id ORDER BY e.created_at DESC, e.id DESC) AS rank
        FROM {event} e
        LEFT JOIN {membership} m ON m.id = e.actor_id
        LEFT JOIN {user} u ON u.id = m.user_id
        WHERE e.company_id = %s AND e.invoice_id IN ({ids})
    ) ranked
    WHERE rank <= %s
    ORDER BY invoice_id, created_at DESC, id DESC"""


def _tables() -> dict[str, str]:
    from tenants.models import User

    return {
        "deal": InvoiceDeal._meta.db_table,
        "event": InvoiceEvent._meta.db_table,
        "membership": Membership._meta.db_table,
        "user": User._meta.db_table,
    }


def _raw(template: str, ids: list[int], company_id: int, *after) -> list[tuple]:
    from django.db import connection as db

    sql = template.replace("{ids}", ", ".join(["%s"] * len(ids))).format(**_tables())
    with db.cursor() as cursor:
        cursor.execute(sql, [company_id, *ids, *after])
        return cursor.fetchall()


def _utc(value) -> dt.datetime:
    """A timestamp from a raw cursor as an aware UTC datetime (SQLite gives text, PostgreSQL an aware
    datetime in the connection's time zone, UTC under Django)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


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

    def etag_of_queryset(self, queryset, *, extra: str = "") -> str:
        """One aggregate query: what a revalidation costs."""
        row = queryset.order_by().aggregate(count=Count("id"), versions=Sum("panel_version"), ids=Sum("id"))
        return self.etag(count=row["count"], versions=row["versions"] or 0, ids=row["ids"] or 0, extra=extra)

    def etag_of_rows(self, rows: list[dict], *, extra: str = "") -> str:
        """The same ETag as etag_of_queryset, from rows already read (no extra query on a 200)."""
        return self.etag(
            count=len(rows),
            versions=sum(r["panel_version"] for r in rows),
            ids=sum(r["id"] for r in rows),
            extra=extra,
        )

    # -- rows --------------------------------------------------------------------------------

    def rows(self, source: tuple[str, list]) -> list[dict]:
        """The invoices, their deal ids and last events: three queries whatever their number.
        `source` is (sql, params) from deal_invoices_sql() or customer_invoices_sql()."""
        from django.db import connection as db

        with db.cursor() as cursor:
            cursor.execute(*source)
            rows = [_row(values) for values in cursor.fetchall()]
        if not rows:
            return rows
        ids = [r["id"] for r in rows]
        deals: dict[int, list[int]] = defaultdict(list)
        for invoice_id, deal_id in _raw(_LINKS_SQL, ids, self.company.pk):
            deals[invoice_id].append(deal_id)
        history: dict[int, list[dict]] = defaultdict(list)
        events = _raw(_EVENTS_SQL, ids, self.company.pk, HISTORY_LIMIT)
        for invoice_id, kind, message, actor_id, name, email, created_at in events:
            history[invoice_id].append(
                {
                    "kind": kind,
                    "message": message,
                    "actor": (name or email) if actor_id else "",
                    "created_at": _utc(created_at).isoformat().replace("+00:00", "Z"),
                }
            )
        # Money loop: the payments under each invoice, one more query whatever their number.
        paid: dict[int, list[dict]] = defaultdict(list)
        currency_of = {r["id"]: r["currency"] for r in rows}
        for p in (
            InvoicePayment.objects.filter(company=self.company, invoice_id__in=ids)
            .order_by("invoice_id", "txn_date", "id")
            .values_list("invoice_id", "txn_date", "amount", "credit_applied", "currency", "method", "reference")
        ):
            invoice_id, txn_date, amount, credit, currency, method, reference = p
            paid[invoice_id].append(
                {
                    "date": txn_date.isoformat() if txn_date else None,
                    "amount": str(Decimal(amount).quantize(CENT)),
                    "credit_applied": str(Decimal(credit).quantize(CENT)),
                    "currency": currency or currency_of[invoice_id],
                    "method": method,
                    "reference": reference,
                }
            )
        for row in rows:
            row["deal_ids"] = deals.get(row["id"], [])
            row["history"] = history.get(row["id"], [])
            row["payments"] = paid.get(row["id"], [])
        return rows

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
            "quickbooks_url": lifecycle.invoice_deep_link(invoice=SimpleNamespace(qbo_id=qbo_id))
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


def _matches(request, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header or request.method != "GET":
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


def not_modified(etag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Authorization, Accept-Language"
    return response


def json_response(payload: dict, *, etag: str | None = None, status: int = 200) -> HttpResponse:
    response = HttpResponse(orjson.dumps(payload), content_type="application/json", status=status)
    if etag:
        response["ETag"] = etag
        response["Cache-Control"] = CACHE_CONTROL
        response["Vary"] = "Authorization, Accept-Language"
    return response


def conditional_read(
    request, reader: Reader, queryset, source, build, *, extra: str = "", known: dict | None = None
) -> HttpResponse:
    """304 when If-None-Match still matches (`known`: the aggregates check_seat already read, else
    one aggregate query); otherwise the body."""
    if request.headers.get("If-None-Match") and request.method == "GET":
        etag = reader.etag(**known, extra=extra) if known else reader.etag_of_queryset(queryset, extra=extra)
        if _matches(request, etag):
            return not_modified(etag)
    rows = reader.rows(source)
    return json_response(build(rows), etag=reader.etag_of_rows(rows, extra=extra))


def deal_invoices(view, request, deal_id: int) -> HttpResponse:
    """GET /api/v1/deals/{deal_id}/invoices (and the answer of POST .../refresh)."""
    known = check_seat(view, request, deal_id=deal_id)
    view.require_viewer()
    reader = Reader(view)

    def build(rows):
        from invoices.won import won_flag

        return {
            "connection": view.connection_info(),
            "invoices": [reader.invoice(row) for row in rows],
            "summary": reader.summary(rows),
            "won": won_flag(deal_id=deal_id),  # money loop: "Won, not invoiced: 2 problems"
        }

    return conditional_read(
        request, reader, deal_invoices_queryset(view, deal_id), deal_invoices_sql(view, deal_id), build, known=known
    )


def contact_invoices(view, request, *, customer_qbo_id: str, date_from, date_to) -> HttpResponse:
    """GET /api/v1/contact-invoices, once the customer is known and any pull from QBO is done
    (the view called check_seat() first)."""
    reader = Reader(view)
    queryset = customer_invoices_queryset(view, customer_qbo_id=customer_qbo_id, date_from=date_from, date_to=date_to)

    def build(rows):
        return {
            "customer_qbo_id": customer_qbo_id,
            "invoices": [reader.invoice(row) for row in rows],
            "summary": reader.summary(rows),
        }

    source = customer_invoices_sql(view, customer_qbo_id=customer_qbo_id, date_from=date_from, date_to=date_to)
    return conditional_read(request, reader, queryset, source, build, extra=customer_qbo_id)


# -- the member and the connection, remembered per process -------------------------------------
#
# A panel read needs the member (from the token's claims) and the company's live connection: two
# queries before any invoice is read. Each process remembers them per (Pipedrive company, user) for
# SEAT_SECONDS. The token itself is verified on every request (signature, lifetime, claims), and a
# remembered seat is re-checked against the database on every request, in the same single query
# that computes the ETag: if the company was uninstalled, the member removed or deactivated, their
# rights or the company's visibility changed, or the connection was disconnected, replaced or
# changed, the seat is dropped and the request authenticates from scratch (401 when it must). So
# nothing is served on stale rights, and no code elsewhere has to remember to invalidate anything.

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
    """What a read's rights and body depend on, besides the invoices (compared with seat_check())."""
    company = membership.company
    owner = connection.owner if connection is not None and connection.owner_id else None
    return (
        membership.pk,
        membership.pipedrive_user_id,
        membership.is_admin,
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


def _seat_sql(*, with_deal: bool) -> str:
    """The seat check as one hand-written statement (PostgreSQL and SQLite): the ORM spent longer
    compiling its subqueries than the database spent running them."""
    from tenants.models import Company, User

    t = {
        "membership": Membership._meta.db_table,
        "user": User._meta.db_table,
        "company": Company._meta.db_table,
        "connection": QuickBooksConnection._meta.db_table,
        "invoice": Invoice._meta.db_table,
        "deal": InvoiceDeal._meta.db_table,
    }
    deal = (
        """
        CROSS JOIN (
            SELECT COUNT(i.id) AS n, COALESCE(SUM(i.panel_version), 0) AS v, COALESCE(SUM(i.id), 0) AS s
            FROM {invoice} i JOIN {deal} l ON l.invoice_id = i.id
            WHERE i.company_id = %(company)s AND i.connection_id = %(connection)s
              AND l.company_id = %(company)s AND l.deal_id = %(deal_id)s
        ) e"""
        if with_deal
        else ""
    )
    return (
        """
        SELECT m.id, m.pipedrive_user_id, m.is_admin, u.is_active,
               c.id, c.pipedrive_company_id, c.status, c.invoice_visibility,
               q.id, q.status, q.owner_id, q.company_name, q.home_currency, q.timezone, ou.name, ou.email
               {extra}
        FROM {membership} m
        JOIN {user} u ON u.id = m.user_id
        JOIN {company} c ON c.id = m.company_id
        LEFT JOIN {connection} q ON q.id = (
            SELECT q2.id FROM {connection} q2
            WHERE q2.company_id = m.company_id AND q2.status IN (%(live1)s, %(live2)s) ORDER BY q2.id LIMIT 1
        )
        LEFT JOIN {membership} om ON om.id = q.owner_id
        LEFT JOIN {user} ou ON ou.id = om.user_id
        {deal}
        WHERE m.id = %(membership)s
        """.replace("{deal}", deal)
        .replace("{extra}", ", e.n, e.v, e.s" if with_deal else "")
        .format(**t)
    )


_SEAT_SQL: dict[bool, str] = {}


def seat_check(seat: Seat, *, deal_id: int | None = None) -> tuple[tuple, dict]:
    """One query: the seat's fingerprint as the database has it now and, for a deal, the ETag
    aggregates of its invoices (as etag_of_queryset would count them)."""
    from django.db import connection as db

    with_deal = deal_id is not None
    if with_deal not in _SEAT_SQL:
        _SEAT_SQL[with_deal] = _seat_sql(with_deal=with_deal)
    live1, live2 = QuickBooksConnection.LIVE_STATUSES
    params = {
        "membership": seat.membership.pk,
        "company": seat.membership.company_id,
        "connection": seat.connection.pk if seat.connection is not None else None,
        "deal_id": deal_id,
        "live1": str(live1),
        "live2": str(live2),
    }
    with db.cursor() as cursor:
        cursor.execute(_SEAT_SQL[with_deal], params)
        row = cursor.fetchone()
    if row is None:
        return (), {}
    if not with_deal:
        return tuple(row), {}
    return tuple(row[:-3]), {"count": row[-3], "versions": int(row[-2]), "ids": int(row[-1])}


def check_seat(view, request, *, deal_id: int | None = None) -> dict | None:
    """Re-check a remembered seat before anything is decided on it (one query, which also returns
    the ETag aggregates of the deal's invoices when given a deal); a changed seat is reloaded."""
    seat = getattr(request, "panel_seat", None)
    if seat is None:
        return None
    now, numbers = seat_check(seat, deal_id=deal_id)
    if now == seat.fingerprint:
        return numbers or None
    view.reload_seat(request)
    return None


def _remembered_seat(request) -> Seat | None:
    """The seat of a GET's panel JWT if this process remembers it. The token is verified first
    (signature, lifetime, claims), exactly as PipedrivePanelAuthentication does."""
    claims = request_claims(request)
    if claims is None:
        return None
    seat = _seats.get((claims.company_id, claims.user_id))
    if seat is None or seat.expires <= time.monotonic():
        return None
    request.user, request.auth = seat.membership.user, PanelAuth(membership=seat.membership, claims=claims)
    return seat


class SeatCachedReads:
    """Mixin for the panel read views (before PanelApi): a GET whose seat this process remembers
    skips the two authentication queries (the view re-checks the seat with check_seat); every
    other request authenticates exactly as PanelApi does."""

    def initial(self, request, *args, **kwargs):
        seat = _remembered_seat(request) if request.method == "GET" else None
        request.panel_seat = seat
        if seat is None:
            super().initial(request, *args, **kwargs)
            if request.method == "GET" and self.membership is not None:
                remember_seat(request.auth.claims, self.membership, self.connection)
            return
        # PanelApi.initial without its connection query: the seat's connection is re-checked later.
        CompanyScopedApi.initial(self, request, *args, **kwargs)
        if not validation.path_ids_bounded(kwargs):
            raise exceptions.NotFound()
        self.connection = seat.connection

    def reload_seat(self, request) -> None:
        """The remembered seat no longer matches the database: authenticate from scratch."""
        claims = request.auth.claims
        with _seats_lock:
            _seats.pop((claims.company_id, claims.user_id), None)
        try:
            membership = membership_for_claims(claims=claims)
        except PanelTokenError as exc:
            raise exceptions.AuthenticationFailed(_("The Pipedrive token is not valid."), code=exc.code) from exc
        if getattr(self, "_scope_token", None) is not None:
            exit_company_scope(self._scope_token)
        self.membership, self.company = membership, membership.company
        self._scope_token = enter_company_scope(self.company)
        request.user, request.auth = membership.user, PanelAuth(membership=membership, claims=claims)
        self.connection = qbo_selectors.connection_live(company=self.company)
        request.panel_seat = None
        remember_seat(claims, membership, self.connection)


def remember_seat(claims, membership: Membership, connection: QuickBooksConnection | None) -> None:
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
    label = serializers.CharField()
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
