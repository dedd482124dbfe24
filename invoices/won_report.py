"""Won, not invoiced (money loop, item 4): won deals of a period with no invoice or only partly
invoiced, with the gap per currency. One paged Pipedrive read (`GET /api/v2/deals?status=won`, cursor
paging) plus our own invoices of those deals (one query)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from integration.pipedrive import client as pipedrive
from integration.pipedrive.shapes import Deal
from invoices.access import can_view
from invoices.models import Invoice
from invoices.status import Status
from tenants.models import Company

LIVE = [Status.OPEN, Status.OVERDUE, Status.PARTIALLY_PAID, Status.PAID]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class WonRow:
    deal_id: int
    title: str
    won_on: dt.date | None
    currency: str
    value: Decimal
    invoiced: Decimal
    gap: Decimal
    url: str


MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 90


def may_read(*, membership, connection) -> bool:
    """Who sees the report (the page and the panel's "…" section alike): admins, and members who may
    see the company's invoices (its visibility setting)."""
    return bool(membership.is_admin or can_view(membership=membership, connection=connection))


def period_of(*, date_from: str | None, date_to: str | None, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The report's period from ISO dates (both optional: the last 90 days up to `to` or today); None
    when a date is malformed, the period is reversed or longer than a year."""
    try:
        end = dt.date.fromisoformat(date_to) if date_to else today
        start = dt.date.fromisoformat(date_from) if date_from else end - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
    except ValueError:
        return None
    if start > end or (end - start).days > MAX_PERIOD_DAYS:
        return None
    return start, end


def _won_date(deal: Deal) -> dt.date | None:
    raw = deal.get("won_time") or deal.get("close_time") or ""
    try:
        return dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00")).date() if raw else None
    except ValueError:
        return None


def deal_url(*, company: Company, installation, deal_id: int) -> str:
    """Where "open the deal" goes: Pipedrive's deal page (the sandbox's when the company lives there)."""
    marker = "/sandbox/pipedrive/api/"
    if settings.SANDBOXES_ENABLED and marker in (installation.api_domain or ""):
        base, _sep, domain = installation.api_domain.partition(marker)
        return f"{base}/sandbox/pipedrive/app/{domain.strip('/')}/deal/{deal_id}"
    return f"https://{company.domain}.pipedrive.com/deal/{deal_id}"


def won_not_invoiced(*, company: Company, installation, date_from: dt.date, date_to: dt.date) -> dict:
    """Rows (newest win first) and the gap per currency. Runs in the company's scope."""
    deals = [
        d
        for d in pipedrive.deals_list(installation=installation, status="won")
        if (won := _won_date(d)) is not None and date_from <= won <= date_to
    ]
    ids = [int(d["id"]) for d in deals]
    invoiced: dict[tuple[int, str], Decimal] = {}
    rows = (
        Invoice.objects.filter(company=company, deal_links__deal_id__in=ids, state=Invoice.State.CREATED)
        .filter(status__in=[s.value for s in LIVE])
        .values("deal_links__deal_id", "currency")
        .annotate(total=Sum("total"))
    )
    for row in rows:
        invoiced[(row["deal_links__deal_id"], row["currency"])] = row["total"] or Decimal(0)
    out: list[WonRow] = []
    gaps: dict[str, Decimal] = {}
    for deal in deals:
        currency = str(deal.get("currency") or "")
        value = Decimal(str(deal.get("value") or 0)).quantize(CENT)
        done = invoiced.get((int(deal["id"]), currency), Decimal(0)).quantize(CENT)
        gap = value - done
        if gap <= 0:
            continue
        out.append(
            WonRow(
                deal_id=int(deal["id"]),
                title=str(deal.get("title") or ""),
                won_on=_won_date(deal),
                currency=currency,
                value=value,
                invoiced=done,
                gap=gap,
                url=deal_url(company=company, installation=installation, deal_id=int(deal["id"])),
            )
        )
        gaps[currency] = gaps.get(currency, Decimal(0)) + gap
    out.sort(key=lambda r: (r.won_on or dt.date.min, r.deal_id), reverse=True)
    return {"rows": out, "gaps": dict(sorted(gaps.items()))}
