# The QuickBooks connection fixtures (a seeded sandbox over HTTP, a connected company A).
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401
