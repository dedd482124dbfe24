"""Read-side queries for invoices: answered from our database, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Prefetch, Q, QuerySet, Sum, Value, When

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceEvent
from invoices.status import Status, past_due_q
from tenants.models import Company

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=18, decimal_places=2))
LIVE = [Status.OPEN, Status.OVERDUE, Status.PARTIALLY_PAID, Status.PAID]
HISTORY_LIMIT = 20


def _with_history(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return queryset.select_related("connection").prefetch_related(
        "deal_links",
        "payments",  # money loop: payments under each invoice (one query per list)
        Prefetch("events", queryset=InvoiceEvent.objects.select_related("actor__user").order_by("-created_at", "-id")),
    )


def invoices_of_deal(*, company: Company, connection: QuickBooksConnection, deal_id: int) -> QuerySet[Invoice]:
    """The invoices shown on a deal, newest first."""
    return _with_history(
        Invoice.objects.filter(company=company, connection=connection, deal_links__deal_id=deal_id).order_by(
            "-txn_date", "-id"
        )
    )


def invoices_of_customer(
    *,
    company: Company,
    connection: QuickBooksConnection,
    customer_qbo_id: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> QuerySet[Invoice]:
    """Every invoice of a QBO customer in a date range, made here or in QuickBooks."""
    queryset = Invoice.objects.filter(
        company=company, connection=connection, customer_qbo_id=customer_qbo_id, state=Invoice.State.CREATED
    )
    if date_from:
        queryset = queryset.filter(txn_date__gte=date_from)
    if date_to:
        queryset = queryset.filter(txn_date__lte=date_to)
    return _with_history(queryset.order_by("-txn_date", "-id"))


def summary(queryset: QuerySet[Invoice], *, today: dt.date) -> list[dict]:
    """Per currency: outstanding, overdue, paid and total of the invoices (one query).

    Voided and deleted invoices count nowhere; overdue includes late partially paid ones.
    """
    live = Q(status__in=LIVE, state=Invoice.State.CREATED)
    money: DecimalField = DecimalField(max_digits=18, decimal_places=2)
    rows = (
        queryset.order_by()
        .filter(live)
        .values("currency")
        .annotate(
            outstanding=Sum("balance"),
            overdue=Sum(
                Case(
                    When(Q(balance__gt=0) & past_due_q(today=today), then=F("balance")),
                    default=ZERO,
                    output_field=money,
                )
            ),
            paid=Sum(F("total") - F("balance"), output_field=money),
            total=Sum("total"),
        )
        .order_by("currency")
    )
    cent = Decimal("0.01")
    return [
        {key: value if key == "currency" else str(Decimal(value or 0).quantize(cent)) for key, value in row.items()}
        for row in rows
    ]
