"""JSON responses the way QBO writes them: money with two decimals, `intuit_tid` on every answer."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse

from integration.sandbox.quickbooks.faults import QboFault, new_tid

# Keys QBO serialises as money (real recordings write `100.00`).
MONEY_KEYS = frozenset(
    {
        "Amount",
        "TotalAmt",
        "Balance",
        "HomeBalance",
        "HomeTotalAmt",
        "TotalTax",
        "NetAmountTaxable",
        "Deposit",
        "UnappliedAmt",
        "BalanceWithJobs",
        "TaxInclusiveAmt",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
    }
)
_MARK = "\u0000money:"
_MARK_RE = re.compile(r'"\\u0000money:(-?[0-9.]+)"')
CENT = Decimal("0.01")


def money(value) -> Decimal:
    """Decimal rounded half-up to cents from a JSON number, string or Decimal."""
    return Decimal(str(value if value is not None else 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def as_number(value: Decimal):
    """What we store in JSONField: an int when whole, else a float (2-decimal floats round-trip)."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _mark(obj):
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key in MONEY_KEYS and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                # Zero stays a bare 0, as in the recorded void response.
                out[key] = 0 if value == 0 else f"{_MARK}{money(value)}"
            else:
                out[key] = _mark(value)
        return out
    if isinstance(obj, list):
        return [_mark(v) for v in obj]
    if isinstance(obj, Decimal):
        return as_number(obj)
    return obj


def dumps(body) -> str:
    return _MARK_RE.sub(r"\1", json.dumps(_mark(body), ensure_ascii=False, separators=(",", ":")))


def json_response(body, status: int = 200, *, tid: str | None = None, content_type: str | None = None) -> HttpResponse:
    content_type = content_type or ("application/json;charset=utf-8" if status < 400 else "application/json")
    response = HttpResponse(dumps(body), status=status, content_type=content_type)
    response["intuit_tid"] = tid or new_tid()
    return response


def fault_response(fault: QboFault) -> HttpResponse:
    return json_response(fault.body(), status=fault.status)
