"""The reverse API's envelope: `{"success": true, "data": …}`, and for refusals
`{"success": false, "data": null, "error": "<human message>", "errorCode": "<code>", "fields": {…}}`."""

from __future__ import annotations

import json
from decimal import Decimal

from django.http import JsonResponse
from django.utils.translation import gettext as _

from integration.errors import AuthRevoked, IntegrationError, PermanentError, TransientError
from integration.quickbooks.errors import QboDuplicateName, QboNotFound
from invoices.errors import ActionNotAllowed, InvoiceError


class _Encoder(json.JSONEncoder):
    """Money leaves as JSON numbers (two places are exact in a double's shortest repr)."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def ok(data, *, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": True, "data": data}, status=status, encoder=_Encoder, safe=False)


class ExtensionError(Exception):
    """A refusal with its HTTP status, a stable code, a message and the offending fields."""

    def __init__(self, status: int, code: str, message: str, *, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}

    def response(self) -> JsonResponse:
        body = {"success": False, "data": None, "error": self.message, "errorCode": self.code, "fields": self.fields}
        response = JsonResponse(body, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="invoicing"'
        return response


def unauthorized() -> ExtensionError:
    return ExtensionError(401, "unauthorized", _("Wrong or missing app credentials."))


def not_found(message: str = "") -> ExtensionError:
    return ExtensionError(404, "not_found", message or _("Not found."))


def bad_request(message: str, *, fields: dict | None = None, code: str = "invalid") -> ExtensionError:
    return ExtensionError(400, code, message, fields=fields)


# Our draft's field names → the contract's (InvoiceCreateData / CreateInvoiceLineItem).
_FIELD_NAMES = {
    "customer.qbo_customer_id": "contactId",
    "customer.name": "contactName",
    "customer.email": "email",
    "customer.tax_id": "taxNumber",
    "currency": "currencyId",
    "issue_date": "issueDate",
    "due_date": "dueDate",
    "doc_number": "invoiceNumber",
    "lines": "lineItems",
    "to": "email",  # sending needs the customer's email
}
_LINE_FIELDS = {
    "qbo_item_id": "productId",
    "tax_code": "taxRateId",
    "item_price": "unitPrice",
    "quantity": "quantity",
    "discount": "discountRate",
    "description": "description",
}


def contract_field(name: str) -> str:
    """`lines[2].qbo_item_id` → `lineItems[2].productId`; `customer.address.city` → `address`."""
    if name.startswith("lines["):
        head, _dot, rest = name.partition("].")
        return f"lineItems[{head[6:]}]." + _LINE_FIELDS.get(rest, rest) if rest else name.replace("lines", "lineItems")
    if name.startswith("customer.address"):
        return "address"
    return _FIELD_NAMES.get(name, name)


def from_invoice_error(error: InvoiceError) -> ExtensionError:
    fields: dict[str, list[str]] = {}
    for problem in error.problems:
        fields.setdefault(contract_field(problem.field), []).append(problem.message)
    status = 403 if isinstance(error, ActionNotAllowed) else 400
    if error.code == "needs_reconnect":
        status = 409
    message = error.message
    if error.problems:
        message = " ".join([error.message, *(p.message for p in error.problems)])
    return ExtensionError(status, error.code, message, fields=fields)


def from_integration_error(error: IntegrationError) -> ExtensionError:
    if isinstance(error, AuthRevoked):
        return ExtensionError(
            409, "needs_reconnect", _("QuickBooks needs reconnecting. Ask the connection owner to reconnect it.")
        )
    if isinstance(error, TransientError):
        return ExtensionError(
            503, "quickbooks_unavailable", _("QuickBooks is not answering right now; try again in a minute.")
        )
    if isinstance(error, QboNotFound):
        return not_found(_("QuickBooks does not have this object (deleted, inactive or unknown)."))
    if isinstance(error, QboDuplicateName):
        return ExtensionError(
            409, "duplicate_name", _("QuickBooks already has a record with this name: pick it or choose another name.")
        )
    if isinstance(error, PermanentError):
        return bad_request(error.message, code=error.code or "rejected")
    return ExtensionError(502, "integration_error", error.message)
