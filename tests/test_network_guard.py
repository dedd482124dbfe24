import socket

import pytest

from tests import network_guard

pytestmark = pytest.mark.network_guard_test


@pytest.fixture
def recording_connect(monkeypatch):
    """Replace the real connect under the guard, so a guard bug can never send a packet."""
    calls = []
    monkeypatch.setitem(network_guard._original, "connect", lambda sock, address: calls.append(address))
    monkeypatch.setitem(network_guard._original, "getaddrinfo", lambda host, *a, **k: calls.append(host) or [])
    return calls


@pytest.mark.parametrize("address", [("203.0.113.10", 443), ("10.1.2.3", 80), ("2001:db8::1", 443, 0, 0)])
def test_connections_outside_loopback_fail_before_connecting(recording_connect, address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(network_guard.NetworkAccessBlocked):
        sock.connect(address)
    assert recording_connect == []


def test_name_resolution_outside_loopback_fails(recording_connect):
    with pytest.raises(network_guard.NetworkAccessBlocked, match=r"quickbooks\.api\.intuit\.com"):
        socket.getaddrinfo("quickbooks.api.intuit.com", 443)
    assert recording_connect == []


@pytest.mark.parametrize("address", [("127.0.0.1", 5432), ("127.8.9.10", 80), ("localhost", 6379), ("::1", 80, 0, 0)])
def test_loopback_is_allowed(recording_connect, address):
    family = socket.AF_INET6 if address[0] == "::1" else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.connect(address)
    assert recording_connect == [address]


def test_requests_to_the_internet_fail(recording_connect):
    import requests

    with pytest.raises(requests.exceptions.ConnectionError, match="only loopback"):
        requests.get("https://example.com/", timeout=1)
    assert network_guard.violations == ["'example.com'"]
    assert recording_connect == []
