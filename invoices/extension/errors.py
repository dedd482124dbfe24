"""The reverse API's envelope: `{"success": true, "data": …}`, and for refusals
`{"success": false, "data": null, "error": "<human message>", "errorCode": "<code>", "fields": {…}}`."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from integration import jsonbody
from integration.errors import IntegrationError
from invoices.errors import InvoiceError, integration_error_answer, invoice_error_answer


def ok(data, *, status: int = 200) -> HttpResponse:
    # Money leaves as exact JSON numbers (integration.jsonbody), never through float().
    body = jsonbody.dumps({"success": True, "data": data})
    return HttpResponse(body, status=status, content_type="application/json")


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
    answer = invoice_error_answer(error)
    fields: dict[str, list[str]] = {}
    for problem in answer.problems:
        fields.setdefault(contract_field(problem.field), []).append(problem.message)
    message = " ".join([answer.message, *(p.message for p in answer.problems)])
    return ExtensionError(answer.status, answer.code, message, fields=fields)


def from_integration_error(error: IntegrationError) -> ExtensionError:
    answer = integration_error_answer(error)
    return ExtensionError(answer.status, answer.code, answer.message)
