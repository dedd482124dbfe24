"""Fixtures for the Pipedrive tests: the seeded sandbox on the live server, and a browser."""

from __future__ import annotations

import pytest
import requests

from integration.sandbox.pipedrive.seed import seed


@pytest.fixture
def pd_live(sandbox_base_url, transactional_db):
    """The live server with the Pipedrive sandbox seeded; returns its base URL."""
    seed()
    return sandbox_base_url


@pytest.fixture
def browser():
    session = requests.Session()
    yield session
    session.close()
