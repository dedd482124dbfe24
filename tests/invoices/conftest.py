import pytest

# The QuickBooks connection fixtures (a seeded sandbox over HTTP, a connected company A).
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401


@pytest.fixture
def live_cache(settings, transactional_db):
    """The panel's remembered answers on (invoices/panel_cache.py; PostgreSQL), its listener trusted."""
    from invoices import panel_cache
    from tests.invoices.test_panel_cache import _eventually

    settings.PANEL_CACHE_BYTES = 1 << 24
    panel_cache.reset()
    cache = panel_cache.current()
    _eventually(lambda: cache.listening)
    yield cache
    panel_cache.reset()
