"""The panel reads' rows as JSON (invoices/panel_reads.py): a raw row with Python types, one invoice as
InvoiceSerializer renders it, the summary per currency, the ETag and the responses."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import orjson
from django.http import HttpResponse
from django.utils import translation

from invoices import access, event_text, lifecycle
from invoices.models import Invoice
from invoices.panel_sql import FIELDS
from invoices.selectors import LIVE
from invoices.status import LABELS, Status, allowed_actions, effective_status, is_past_due, pipedrive_status
from invoices.sync import company_today

# Bump when the response shape changes, so no client keeps a body of the old shape.
SHAPE = "2"
CENT = Decimal("0.01")
ZERO = Decimal("0")
CACHE_CONTROL = "private, no-cache"  # always revalidate; the ETag makes that a 304


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
            "message": event_text.render(kind, message, data),
            "actor": (name or email) if actor_id else "",
            "created_at": _utc(created_at).isoformat().replace("+00:00", "Z"),
        }
        for kind, message, data, actor_id, name, email, created_at in history
    ]
    row["payments"] = [
        {
            "date": txn_date,
            "amount": str(Decimal(amount).quantize(CENT)),
            "credit_applied": str(Decimal(credit).quantize(CENT)),
            "currency": currency or row["currency"],
            "method": method,
            "reference": reference,
            "credit_memos": memos,
        }
        for txn_date, amount, credit, currency, method, reference, memos in payments
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
            "last_error": event_text.shown_error(
                state=row["state"], last_error=row["last_error"], history=row["history"]
            ),
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


def _validators(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Authorization, Accept-Language"
    return response


def not_modified(etag: str) -> HttpResponse:
    return _validators(HttpResponse(status=304), etag)


def body_response(body: bytes, *, etag: str) -> HttpResponse:
    """A 200 of JSON already rendered (invoices/panel_cache.py)."""
    return _validators(HttpResponse(body, content_type="application/json"), etag)


def json_response(payload, *, etag: str | None = None, status: int = 200) -> HttpResponse:
    # default=str: lazy translations in error bodies
    response = HttpResponse(orjson.dumps(payload, default=str), content_type="application/json", status=status)
    return _validators(response, etag) if etag else response
