"""The one HTTP Basic parser (integration.http.basic_credentials) and Pipedrive's client check."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings

from integration.http import basic_credentials
from integration.pipedrive.basic_auth import is_pipedrive


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic(b"user:pa:ss"), ("user", "pa:ss")),  # only the first colon separates
        (basic(b"user:"), ("user", "")),
        ("basic " + base64.b64encode(b"u:p").decode(), ("u", "p")),  # the scheme is case-insensitive
        (basic(b"no-colon"), None),
        (basic(b"\xff\xfe:x"), None),  # not UTF-8
        ("Basic not*base64", None),
        ("Bearer abc", None),
        ("Basic ", None),
        ("", None),
        (None, None),
    ],
)
def test_basic_credentials(header, expected):
    assert basic_credentials(header) == expected


@override_settings(PIPEDRIVE_CLIENT_ID="cid", PIPEDRIVE_CLIENT_SECRET="secret")
def test_pipedrive_is_our_client_id_and_secret_only():
    assert is_pipedrive(basic(b"cid:secret"))
    assert not is_pipedrive(basic(b"cid:wrong"))
    assert not is_pipedrive(basic(b"other:secret"))
    assert not is_pipedrive(None)
