"""The shapes of Pipedrive's invoicing-extension contract, written from
shared/reference/invoicing-extension.md ("Objects" and "Endpoints"), and a small validator.

`check(value, shape)` returns the list of violations (empty = conforms). Shapes:
a type or tuple of types; `Enum(...)`; `Opt(shape)` (the key may be absent: the contract's `?`);
`Null(shape)` (the value may be null: the contract's `|null`); `{key: shape}` (an object with
exactly these keys, no others); `[shape]` (an array of shape); `Const(value)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NUM = (int, float)  # JSON numbers; bool is excluded below
STR = str
BOOL = bool


@dataclass(frozen=True)
class Opt:
    shape: Any


@dataclass(frozen=True)
class Null:
    shape: Any


@dataclass(frozen=True)
class Enum:
    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", values)


@dataclass(frozen=True)
class Const:
    value: Any


def check(value, shape, path: str = "$") -> list[str]:
    if isinstance(shape, Null):
        return [] if value is None else check(value, shape.shape, path)
    if isinstance(shape, Opt):
        return check(value, shape.shape, path)
    if isinstance(shape, Enum):
        return [] if value in shape.values else [f"{path}: {value!r} not in {shape.values}"]
    if isinstance(shape, Const):
        return [] if value == shape.value else [f"{path}: {value!r} != {shape.value!r}"]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        problems = [f"{path}: unexpected key {key!r}" for key in value if key not in shape]
        for key, sub in shape.items():
            if key not in value:
                if not isinstance(sub, Opt):
                    problems.append(f"{path}: missing {key!r}")
                continue
            problems += check(value[key], sub, f"{path}.{key}")
        return problems
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        return [p for index, item in enumerate(value) for p in check(item, shape[0], f"{path}[{index}]")]
    if isinstance(value, bool) and shape is not BOOL and shape != (BOOL,):
        return [f"{path}: expected {shape}, got a boolean"]
    if not isinstance(value, shape):
        return [f"{path}: expected {shape}, got {type(value).__name__} {value!r}"]
    return []


def assert_shape(value, shape) -> None:
    problems = check(value, shape)
    assert not problems, "contract violations:\n  " + "\n  ".join(problems)


# -- objects ------------------------------------------------------------------------------------

MAX_LENGTH = {"maxLength": NUM}

LINK_FEATURES = {
    "invoiceTaxModeOptions": {"taxExclusive": BOOL, "taxInclusive": BOOL, "noTax": BOOL},
    "invoiceTaxOption": Enum("single", "multiple"),
    "invoiceDiscountOptions": {"globalDiscount": BOOL, "lineDiscount": BOOL},
    "invoiceNumberOption": Enum("none", "mandatory"),
    "validations": {"product": {"name": MAX_LENGTH, "code": MAX_LENGTH, "description": MAX_LENGTH}},
}

LINK_STATUS = {"authorized": BOOL, "name": Opt(STR), "orgId": Opt(STR), "features": Opt(LINK_FEATURES)}

URL = {"url": STR}

INVOICE_ACTION = {
    "id": Enum("VOIDED", "DELETED", "APPROVE", "DOWNLOAD", "EMAIL", "URL"),
    "label": STR,
    "providerAction": Enum(
        "changeInvoiceStatus",
        "sendInvoiceEmail",
        "downloadInvoice",
        "openInvoiceLink",
        "postInvoiceEmail",
        "getInvoiceShareURL",
    ),
    "requireConfirmation": Null(Enum("regular", "destructive")),
}

PIPEDRIVE_STATUS_CODES = ("draft", "created", "issued", "paid", "voided", "deleted", "partiallyPaid")

INVOICE = {
    "id": STR,
    "invoiceNumber": STR,
    "contactName": STR,
    "statusCode": STR,
    "statusLabel": STR,
    "pipedriveStatusCode": Enum(*PIPEDRIVE_STATUS_CODES),
    "total": NUM,
    "paidAmount": Opt(NUM),
    "dueAmount": Opt(NUM),
    "currencyCode": STR,
    "dueDate": Opt(Null(STR)),
    "paidDate": Opt(Null(STR)),
    "actions": [INVOICE_ACTION],
    "providerInvoiceUrl": STR,
    "isShareable": BOOL,
    "isSent": BOOL,
}

PRODUCT = {
    "id": STR,
    "name": STR,
    "description": Opt(STR),
    "code": Opt(STR),
    "accountId": Opt(STR),
    "taxRateId": Opt(STR),
    "unitPrice": Opt(NUM),
    "currency": Opt(STR),
}

CONTACT = {
    "id": STR,
    "displayName": STR,
    "address": Opt(STR),
    "postalCode": Opt(STR),
    "city": Opt(STR),
    "country": Opt(STR),
    "email": Opt(STR),
    "phone": Opt(STR),
    "taxId": Opt(STR),
    "url": Opt(STR),
}

ID_NAME = {"id": STR, "name": STR}
TAX_RATE = {"id": STR, "name": STR, "rate": NUM}
SUMMARY_ROW = {"currency": STR, "outstanding": NUM, "overdue": NUM, "paid": NUM, "total": NUM}

# -- endpoints: manifest name → the shape of `data` ---------------------------------------------

DATA = {
    "getProviderAccount": LINK_STATUS,
    "getProviderAccountConnectUrl": URL,
    "postInvoice": INVOICE,
    "postInvoiceStatus": INVOICE,
    "postInvoiceEmail": INVOICE,
    "getSearchInvoices": [INVOICE],
    "getInvoiceShareUrl": URL,
    "getInvoicePDF": None,  # a file stream, not JSON
    "getInvoiceSummary": [SUMMARY_ROW],
    "getCurrencies": [ID_NAME],
    "getTaxRates": [TAX_RATE],
    "getAccounts": [ID_NAME],
    "getTemplates": [ID_NAME],
    "getProduct": PRODUCT,
    "postProduct": PRODUCT,
    "putProduct": PRODUCT,
    "getSearchProducts": [PRODUCT],
    "getContact": CONTACT,
    "postContact": CONTACT,
    "putContact": CONTACT,
    "getSearchContacts": [CONTACT],
}

ENDPOINT_NAMES = tuple(DATA)  # the 21 of the contract


def success(data_shape) -> dict:
    return {"success": Const(True), "data": data_shape}


# Refusals: `success: false` (the contract's envelope) with our code, message and fields.
ERROR = {"success": Const(False), "data": Const(None), "error": STR, "errorCode": STR, "fields": dict}

MANIFEST = {
    "version": Const("v202101"),
    "clientId": STR,
    "features": {"templates": BOOL},
    "endpoints": dict.fromkeys(ENDPOINT_NAMES, STR),
}
