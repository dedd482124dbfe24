"""The browser journeys run as production does: on PostgreSQL with the panel's remembered answers
on (invoices/panel_cache.py). Their live server commits, so PostgreSQL's notices arrive; a stale
answer would show as a journey that does not see its own change. (Off on SQLite: no LISTEN.)"""

import pytest

from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from invoices import panel_cache
from tests.e2e.browser import chromium_page


@pytest.fixture(autouse=True)
def _panel_cache_as_in_production(settings, transactional_db):
    settings.PANEL_CACHE_BYTES = 16 * 2**20
    panel_cache.reset()
    yield
    panel_cache.reset()


@pytest.fixture
def browser_page(sandbox_base_url, monkeypatch):
    """Both sandboxes freshly seeded, and a Chromium page on them (1280 x 900)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM reads between Playwright steps
    seed()
    controls.reset()
    with chromium_page(width=1280, height=900) as page:
        yield page
