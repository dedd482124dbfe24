"""QBO fault bodies (verbatim fixtures in ./fixtures) map to the typed errors callers branch on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from integration.errors import AuthRevoked, PermanentError, RateLimited, TransientError
from integration.quickbooks.errors import (
    AuthExpired,
    QboDuplicateName,
    QboForbidden,
    QboNotFound,
    QboStaleObject,
    QboValidationError,
    error_for_exception,
    error_for_response,
    parse_faults,
)

FIXTURES = Path(__file__).parent / "fixtures"

XML_THROTTLE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
    'time="2016-09-06T06:23:35.478-07:00"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
    "errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail></Error>"
    "</Fault></IntuitResponse>"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(status: int, body: bytes | str, headers: dict | None = None) -> requests.Response:
    result = requests.Response()
    result.status_code = status
    result._content = body.encode() if isinstance(body, str) else body
    result.headers = CaseInsensitiveDict(headers or {"Content-Type": "application/json"})
    result.encoding = "utf-8"
    return result


def test_401_gateway_shape_is_auth_expired_with_its_code_and_tid():
    error = error_for_response(
        response(401, fixture("401_token_expired.json"), {"Intuit-Tid": "1-5f7349e0-0fd2bee86a8a83c67a77fbb2"})
    )
    assert type(error) is AuthExpired
    assert error.code == "3200"
    assert error.status == 401
    assert "1-5f7349e0-0fd2bee86a8a83c67a77fbb2" in error.detail


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("400_required_param_missing_2020.json", "Line.DetailType"),
        ("400_required_param_missing_2020_name.json", "Name"),
    ],
)
def test_validation_fault_names_the_field(name, field):
    error = error_for_response(response(400, fixture(name)))
    assert type(error) is QboValidationError
    assert isinstance(error, PermanentError)
    assert error.code == "2020"
    assert error.fields == [field]
    assert error.message.startswith(f"Field {field}:")
    assert f"Required parameter {field} is missing" in error.message


@pytest.mark.parametrize(
    ("name", "cls", "code"),
    [
        ("400_stale_object_5010.json", QboStaleObject, "5010"),
        ("400_stale_object_5010_alt.json", QboStaleObject, "5010"),
        ("400_object_not_found_610.json", QboNotFound, "610"),
        ("400_duplicate_name_6240.json", QboDuplicateName, "6240"),
        ("400_query_parse_error_4000.json", QboValidationError, "4000"),
        ("400_invalid_query_4001.json", QboValidationError, "4001"),
        ("400_invalid_id_2030.json", QboValidationError, "2030"),
        ("400_unsupported_operation_500.json", QboValidationError, "500"),
        ("400_unsupported_property_2010.json", QboValidationError, "2010"),
    ],
)
def test_400_faults_map_by_code(name, cls, code):
    error = error_for_response(response(400, fixture(name)))
    assert type(error) is cls
    assert error.code == code
    assert error.status == 400
    # The sentence is QBO's own detail, not a generic text.
    detail = json.loads(fixture(name))["Fault"]["Error"][0]["Detail"]
    assert detail[:30] in error.message


def test_invalid_id_names_the_id_field():
    error = error_for_response(response(400, fixture("400_invalid_id_2030.json")))
    assert error.fields == ["Id"]
    assert "Supplied value:1.5" in error.message


def test_429_with_xml_throttle_body_is_rate_limited_for_60_seconds():
    error = error_for_response(response(429, XML_THROTTLE, {"Content-Type": "application/xml"}))
    assert type(error) is RateLimited
    assert isinstance(error, TransientError)
    assert error.code == "3001"
    assert error.retry_after == 60.0


def test_429_honours_retry_after_when_sent():
    error = error_for_response(response(429, "", {"Retry-After": "7"}))
    assert type(error) is RateLimited
    assert error.retry_after == 7.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient_not_rate_limited(status):
    error = error_for_response(response(status, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}))
    assert type(error) is TransientError
    assert error.status == status


def test_403_code_120_is_auth_revoked_other_403_is_forbidden():
    body = json.dumps(
        {"Fault": {"Error": [{"Message": "Authorization Failure", "Detail": "no access", "code": "120"}], "type": "x"}}
    )
    assert type(error_for_response(response(403, body))) is AuthRevoked
    body_5020 = body.replace('"120"', '"5020"')
    assert type(error_for_response(response(403, body_5020))) is QboForbidden


def test_timeouts_and_resets_are_transient():
    assert type(error_for_exception(requests.ReadTimeout("slow"))) is TransientError
    error = error_for_exception(requests.ConnectionError("reset by peer"))
    assert type(error) is TransientError
    assert error.code == "ConnectionError"


def test_faults_inside_200_answers_are_parsed():
    attachable = json.loads(fixture("200_attachable_business_validation_6000.json"))
    faults = parse_faults(attachable["AttachableResponse"][0])
    assert [fault.code for fault in faults] == ["6000"]
    batch = json.loads(fixture("batch_response.json"))
    codes = [[fault.code for fault in parse_faults(item)] for item in batch["BatchItemResponse"]]
    assert codes == [[], ["610"], ["5010"], []]


def test_parse_faults_ignores_non_fault_bodies():
    assert parse_faults({"Invoice": {"Id": "1"}}) == ()
    assert parse_faults(["not", "a", "dict"]) == ()
