"""Hypothesis fuzzing of the reverse API and the Intuit webhook receiver (issue 17): whatever the
query, path or body, the answer is never a server error and always the surface's JSON envelope.
Bounded for CI (derandomized, a few hundred requests in all)."""

from __future__ import annotations

import copy
import json
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.sandbox.quickbooks.webhooks import sign
from invoices.extension.endpoints import ENDPOINTS
from tests.extension.test_contract import CREATE

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
HUGE = "99999999999999999999"
US_REALM = "9130350000000001"

# Hypothesis favours small, simple values; the values that broke us were extreme ones, so those
# are drawn as often as everything else together.
NASTY_SCALARS = [10**30, -(10**30), 1e300, -1e300, 2**63, 2**64, 0, -1, 1, True, None, "", HUGE, "1e300", "NaN"]
NASTY_TEXT = ["", "0", "-1", "1", "3", HUGE, HUGE + "0" * 20, "1," + HUGE, "1e300", "1e999999999", "NaN",
              "Infinity", "9999-12-31", "2026-02-30", "0000-00-00", "usd", "x" * 300, "%00", "abc"]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(NASTY_SCALARS),
    st.sampled_from(NASTY_TEXT),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
param_text = st.one_of(st.sampled_from(NASTY_TEXT), st.sampled_from(NASTY_TEXT), st.text(max_size=30))
# The query parameters each endpoint reads (contract names), plus Pipedrive's userId.
PARAMS = {
    "getSearchInvoices": ["ids", "customerId", "page", "startDate", "endDate"],
    "getInvoiceSummary": ["contactId", "from", "to", "refresh"],
    "postInvoice": ["dealId"],
    "getSearchProducts": ["name", "code", "forceCodeSearch"],
    "getSearchContacts": ["name"],
}


def _create_like(draw) -> dict:
    body = copy.deepcopy(CREATE)
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=3)):
        body[key] = draw(json_values)
    line = body.get("lineItems")
    if isinstance(line, list) and line and isinstance(line[0], dict):
        for key in draw(st.lists(st.sampled_from(sorted(line[0])), max_size=3)):
            line[0][key] = draw(json_values)
    return body


@st.composite
def reverse_api_requests(draw):
    # The invoice endpoints parse the most input: drawn as often as all the others together.
    invoices = [e for e in ENDPOINTS if "/invoices" in e[2] or "summary" in e[2]]
    name, method, path = draw(st.sampled_from(ENDPOINTS) | st.sampled_from(invoices))
    for placeholder in (":invoiceId", ":productId", ":contactId"):
        if placeholder in path:
            path = path.replace(placeholder, quote(draw(param_text), safe="") or "1")
    keys = [*PARAMS.get(name, []), "userId"]
    params = draw(st.dictionaries(st.sampled_from(keys), param_text, min_size=1, max_size=len(keys)))
    params.update(draw(st.dictionaries(st.text(min_size=1, max_size=8), param_text, max_size=1)))
    body = None
    if method in {"POST", "PUT"}:
        kind = draw(st.sampled_from(["json", "create", "raw"]))
        if kind == "json":
            body = json.dumps(draw(json_values)).encode()
        elif kind == "create":
            body = json.dumps(_create_like(draw)).encode()
        else:
            body = draw(st.binary(max_size=200))
    return name, method, path, params, body


def test_reverse_api_never_answers_a_server_error(pipedrive):
    seen: dict[int, int] = {}

    @settings(FUZZ, max_examples=400)
    @given(request=reverse_api_requests())
    def run(request):
        name, method, path, params, body = request
        url = f"/ext/invoicing{path.replace(':linkId', pipedrive.link_id)}"
        if params:
            url += "?" + urlencode(params)
        response = pipedrive.client.generic(method, url, body or b"", content_type="application/json")
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (name, url, body, response.content[:300])
        if response.get("Content-Type", "").startswith("application/json"):
            assert "success" in response.json(), (name, url, response.content[:300])
        else:
            assert name == "getInvoicePDF" and response.status_code == 200, (name, url, response.status_code)

    run()
    assert sum(seen.values()) >= 100 and any(code < 300 for code in seen)


def _value(typical):
    return st.one_of(st.sampled_from(typical), scalars)


legacy_entity = st.fixed_dictionaries(
    {
        "name": _value(["Invoice", "Payment", "Customer"]),
        "id": _value(["1", "2"]),
        "operation": _value(["Create", "Update", "Delete", "Void", "Merge"]),
        "lastUpdated": _value(["2026-11-27T10:00:00.000Z", "2026-13-45T00:00:00Z"]),
    }
)
legacy_payloads = st.fixed_dictionaries(
    {
        "eventNotifications": st.lists(
            st.fixed_dictionaries(
                {
                    "realmId": _value([US_REALM, "1", "9" * 40]),
                    "dataChangeEvent": st.fixed_dictionaries(
                        {"entities": st.lists(legacy_entity, min_size=1, max_size=3)}
                    ),
                }
            ),
            min_size=1,
            max_size=3,
        )
    }
)
cloud_events = st.lists(
    st.fixed_dictionaries(
        {
            "type": _value(["qbo.invoice.updated.v1", "qbo.payment.created.v1", "qbo.x"]),
            "id": _value(["e-1", "e" * 300]),
            "intuitaccountid": _value([US_REALM, "e" * 100]),
            "intuitentityid": _value(["1", "2"]),
            "time": _value(["2026-11-27T10:00:00.123456789Z", "0000-00-00"]),
        },
    ),
    min_size=1,
    max_size=3,
)
webhook_bodies = st.one_of(
    legacy_payloads.map(lambda p: json.dumps(p).encode()),
    cloud_events.map(lambda p: json.dumps(p).encode()),
    legacy_payloads.map(lambda p: json.dumps(p).encode()),
    cloud_events.map(lambda p: json.dumps(p).encode()),
    json_values.map(lambda p: json.dumps(p).encode()),
    st.binary(max_size=300),
)


def test_webhook_never_answers_a_server_error(qbo, connected, client):
    seen: dict[int, int] = {}

    @FUZZ
    @given(body=webhook_bodies, signed=st.sampled_from([True, True, True, False]))
    def run(body, signed):
        response = client.post(
            "/webhooks/quickbooks",
            body,
            content_type="application/json",
            headers={"intuit-signature": sign(body) if signed else "bm9wZQ=="},
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (body[:300], response.content[:300])
        response.json()

    run()
    assert seen.get(200, 0) > 20 and seen.get(401, 0) > 0
