"""QBO fault bodies, copied in shape and text from the recorded fixtures."""

from __future__ import annotations

import uuid

from integration.sandbox.quickbooks import clock


class QboFault(Exception):
    """A ValidationFault (or other fault) the API answers with; `status` is the HTTP status."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        element: str | None = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Error": [error], "type": self.fault_type}

    def body(self) -> dict:
        return {"Fault": self.fault(), "time": clock.qbo_time()}


def new_tid() -> str:
    """An `intuit_tid` shaped like the recorded ones: 1-<8 hex>-<24 hex>."""
    raw = uuid.uuid4().hex
    return f"1-{raw[:8]}-{raw[8:32]}"


def unsupported_operation(path: str) -> QboFault:
    return QboFault(
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : {path} of full path: "
        f"https://sandbox.qbo.local{path} is not supported.",
        element=None,
    )


def invalid_id(value: str) -> QboFault:
    return QboFault("2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", element="Id")


def not_found() -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def deleted_txn() -> QboFault:
    return QboFault("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction.")


def stale_object() -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Sandbox User were working on this at the same time. "
        "Sandbox User finished before you did, so your work was not saved.",
    )


def duplicate_name() -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error", "The name supplied already exists. : null", element=None)


def required_param(element: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element=element,
    )


def unsupported_property(name: str, entity: str, known: list[str]) -> QboFault:
    listed = ", ".join(f'"{k}"' for k in known[:60])
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{name}" (class com.intuit.schema.finance.v3.{entity}), '
        f"not marked as ignorable ({len(known)} known properties: {listed} [truncated]])\n"
        " specified is unsupported or invalid",
        element=None,
    )


def string_length(element: str, limit: int) -> QboFault:
    return QboFault(
        "2050",
        "String length specified does not match the supported length",
        f"Length of the field exceeds the maximum of {limit} characters: {element}",
        element=element,
    )


def invalid_reference(element: str, detail: str) -> QboFault:
    return QboFault("2500", "Invalid Reference Id", f"Invalid Reference Id : {detail}", element=element)


def business_validation(detail: str, element: str = "") -> QboFault:
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )


def invalid_email(element: str) -> QboFault:
    return QboFault(
        "2210",
        "Email Address does not conform to the syntax rules of RFC 822",
        f"Email Address does not conform to the syntax rules of RFC 822: {element}",
        element=element,
    )


def invalid_enum(element: str, value: str) -> QboFault:
    return QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element=element)


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}", element=None)


def invalid_query(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}", element=None)


def auth_fault_body(detail: str) -> dict:
    """The lower-case 'gateway' 401 body (fixture errors/401_token_expired.json)."""
    return gateway_body(
        message="message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail=detail,
        code="3200",
        fault_type="AUTHENTICATION",
    )


def authorization_fault_body() -> dict:
    """403 for a token used on a realm it was not issued for (README: 'Wrong realm')."""
    return gateway_body(
        message="message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail=None,
        code="3100",
        fault_type="SERVICE",
    )


def gateway_body(*, message: str, detail: str | None, code: str, fault_type: str) -> dict:
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": message,
                    "detail": detail,
                    "code": code,
                    "element": None,
                }
            ],
            "type": fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(clock.now().timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }


THROTTLE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
    '<Fault type="SERVICE"><Error code="3001" element="">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail>"
    "</Error></Fault></IntuitResponse>"
)


def invalid_number(element: str, value) -> QboFault:
    """A number field given something that is not a number: the JSON binding fails (2010)."""
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Can not construct instance of java.math.BigDecimal from String value "{value}": '
        f"not a valid representation specified is unsupported or invalid",
        element=element,
    )


def duplicate_doc_number(doc_number: str, txn_id: str) -> QboFault:
    return QboFault(
        "6140",
        "Duplicate Document Number Error",
        f"Duplicate Document Number Error : You must specify a different number. This number has already "
        f"been used. DocNumber={doc_number} is assigned to TxnType=Invoice with TxnId={txn_id}",
        element=None,
    )


def negative_total() -> QboFault:
    return business_validation("Transaction amount must be positive.", "TotalAmt")
