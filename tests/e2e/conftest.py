"""The browser journeys run as production does: on PostgreSQL with the panel's remembered answers
on (invoices/panel_cache.py). Their live server commits, so PostgreSQL's notices arrive; a stale
answer would show as a journey that does not see its own change. (Off on SQLite: no LISTEN.)"""

import pytest

from invoices import panel_cache


@pytest.fixture(autouse=True)
def _panel_cache_as_in_production(settings, transactional_db):
    settings.PANEL_CACHE_BYTES = 16 * 2**20
    panel_cache.reset()
    yield
    panel_cache.reset()
