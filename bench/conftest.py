"""`make bench` runs these as pytest modules so they get a live server with the sandboxes."""

import pytest

from invoices import panel_cache
from tests.conftest import *  # noqa: F403 (fixtures: personas, web_as, sandbox_base_url; the network guard)
from tests.integration.quickbooks.conftest import *  # noqa: F403 (qbo, connected, link_calls, client_of)


@pytest.fixture(autouse=True)
def _end_panel_cache_listener():
    """A bench run with the panel cache on (PANEL_CACHE_BYTES_IN_TESTS) ends its listener, whose
    connection would otherwise keep the test database from being dropped."""
    yield
    panel_cache.reset()
