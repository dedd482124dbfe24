"""What the sandbox's invoice tab sends to the app: the body shapes Pipedrive's page prints, and no
viewer or deal (Pipedrive documents neither)."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from integration.sandbox.pipedrive.invoicing_host import body_shape, shaped_body

BODY = {"id": "VOIDED"}


@pytest.mark.parametrize(
    ("name", "query", "expected"),
    [
        ("postInvoice", "", {"success": True, "data": BODY}),  # InvoiceCreateData's sample: in the envelope
        ("postInvoiceStatus", "", BODY),  # InvoiceAction's sample: bare
        ("postContact", "", {"success": True, "data": BODY}),  # no sample: the page's general envelope
        ("putProduct", "shape=bare", BODY),
        ("postInvoiceStatus", "shape=data", {"data": BODY}),
        ("postInvoice", "shape=envelope", {"success": True, "data": BODY}),
    ],
)
def test_bodies_go_in_the_documented_shapes(name, query, expected):
    request = RequestFactory().post(f"/x?{query}")
    sent = shaped_body(json.dumps(BODY).encode(), body_shape(request, name))
    assert json.loads(sent) == expected


def test_the_setting_forces_one_shape(settings):
    settings.PIPEDRIVE_SANDBOX_INVOICING_BODY_SHAPE = "bare"
    assert body_shape(RequestFactory().post("/x"), "postInvoice") == "bare"
    assert shaped_body(b"not json", "envelope") == b"not json"  # passed on for the app to refuse
