"""Fixtures shared by the QuickBooks and Pipedrive integration tests."""

from __future__ import annotations

import pytest
import requests

from tests.integration.oauth_wire import Sent


@pytest.fixture
def wire(monkeypatch) -> list[Sent]:
    """Every request any session sends in this process (the live server's thread included)."""
    sent: list[Sent] = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        sent.append(Sent(session=self, request=request, timeout=kwargs.get("timeout")))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return sent
