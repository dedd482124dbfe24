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
        "RemainingCredit",
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


# XML (QBO's native format) for a client that sends `Accept: application/xml`: the same
# answer, rendered as `<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="...">`.
_XML_NS = "http://schema.intuit.com/finance/v3"
_XML_ATTRIBUTES = {"domain", "sparse", "status", "startPosition", "maxResults", "totalCount", "type", "code", "element"}


def _xml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_element(parent, tag: str, value) -> None:
    from xml.etree import ElementTree as ET

    if isinstance(value, list):
        for item in value:
            _xml_element(parent, tag, item)
        return
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        if set(value) <= {"value", "name", "type"} and "value" in value:
            # A ReferenceType: `<CustomerRef name="Amy">1</CustomerRef>`.
            node.text = _xml_value(value["value"])
            for attr in ("name", "type"):
                if value.get(attr) is not None:
                    node.set(attr, _xml_value(value[attr]))
            return
        for key, child in value.items():
            if child is None:
                continue
            if key in _XML_ATTRIBUTES and not isinstance(child, (dict, list)):
                node.set(key, _xml_value(child))
            else:
                _xml_element(node, key, child)
        return
    if value is not None:
        node.text = _xml_value(value)


def as_xml(response: HttpResponse) -> HttpResponse:
    """The JSON answer as QBO's XML; answers that are not JSON (PDF, throttle XML) pass unchanged."""
    from xml.etree import ElementTree as ET

    if not response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        body = json.loads(response.content)
    except ValueError:
        return response
    if not isinstance(body, dict) or "fault" in body:
        return response  # the gateway's 401/403 bodies are JSON whatever was asked
    root = ET.Element("IntuitResponse", {"xmlns": _XML_NS})
    if body.get("time"):
        root.set("time", str(body["time"]))
    for key, value in body.items():
        if key != "time":
            _xml_element(root, key, value)
    xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(root, encoding="unicode")
    out = HttpResponse(xml, status=response.status_code, content_type="application/xml;charset=UTF-8")
    for header in ("intuit_tid", "Intuit-Tid", "Qbo-Version"):
        if response.has_header(header):
            out[header] = response[header]
    return out
