import pytest
from rest_framework.test import APIClient

from tests import network_guard
from tests.personas import make_personas


def pytest_configure(config):
    network_guard.install()


@pytest.fixture
def personas(db):
    return make_personas()


def _api_client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def api_as(personas):
    """`api_as("charlie")` is an API client signed in as that persona."""
    return lambda name: _api_client_for(getattr(personas, name))


@pytest.fixture
def web_as(personas, client):
    """`web_as("alice")` is the Django test client signed in as that persona."""

    def make(name):
        client.force_login(getattr(personas, name))
        return client

    return make
