"""Deal installments (Pipedrive API v2, tag DealInstallments): the payment schedule of a deal.

`GET {api_domain}/api/v2/deals/installments?deal_ids=…` (scopes `deals:read` or `deals:full`, cost 10;
at most 100 deal ids per call; cursor paging). "Only available in Growth and above plans": on a lower
plan Pipedrive refuses the call, and a company without installments simply has none, so that refusal
reads as an empty schedule here. A scope mismatch or any other error still raises (the app's grant is
wrong, or Pipedrive is down), so callers never mistake an outage for "no installments".
Spec: shared/pipedrive-reference/openapi-v2.yaml `getInstallments`; README "Installments".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from integration.errors import PermanentError
from integration.pipedrive import client
from integration.pipedrive.errors import SERVICE
from integration.pipedrive.models import PipedriveInstallation

PATH = "/api/v2/deals/installments"
MAX_DEAL_IDS = 100  # "A maximum of 100 deal IDs can be provided"
# Pipedrive's text for a grant without the operation's scope (reference §2.3): a real error, not a plan.
SCOPE_MISMATCH = "Scope and URL mismatch"


@dataclass(frozen=True)
class Installment:
    """One scheduled payment of a deal."""

    id: int
    deal_id: int
    amount: Decimal
    billing_date: dt.date
    description: str


def _parse(item: dict) -> Installment:
    try:
        amount = Decimal(str(item["amount"]))
        parsed = Installment(
            id=int(item["id"]),
            deal_id=int(item["deal_id"]),
            amount=amount.quantize(Decimal("0.01")),
            billing_date=dt.date.fromisoformat(str(item["billing_date"])[:10]),
            description=str(item.get("description") or ""),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise PermanentError(
            "Pipedrive sent an installment we cannot read", service=SERVICE, code="bad_response"
        ) from exc
    if not amount.is_finite():
        raise PermanentError("Pipedrive sent a non-finite installment amount", service=SERVICE, code="bad_response")
    return parsed


def _plan_refused(exc: PermanentError) -> bool:
    return exc.status == 403 and SCOPE_MISMATCH.lower() not in (exc.message or "").lower()


def deal_installments(*, installation: PipedriveInstallation, deal_ids: Iterable[int]) -> list[Installment]:
    """The installments of `deal_ids`, ordered by deal, billing date and id; `[]` when the company's
    plan has no installments (Pipedrive's 403 on Lite). Any number of ids: sent 100 per call, every
    page followed. Raises the client's typed errors otherwise (scope mismatch, 401, 429, 5xx)."""
    wanted = sorted({int(deal_id) for deal_id in deal_ids})
    found: dict[int, Installment] = {}
    for start in range(0, len(wanted), MAX_DEAL_IDS):
        chunk = wanted[start : start + MAX_DEAL_IDS]
        params = {"deal_ids": ",".join(str(deal_id) for deal_id in chunk), "sort_by": "id"}
        try:
            for item in client.paginate(installation=installation, path=PATH, params=params):
                installment = _parse(item)
                found[installment.id] = installment
        except PermanentError as exc:
            if _plan_refused(exc):
                return []
            raise
    return sorted(found.values(), key=lambda i: (i.deal_id, i.billing_date, i.id))
