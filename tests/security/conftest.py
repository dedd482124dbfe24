# The QuickBooks connection fixtures (a seeded sandbox over HTTP, a connected company A) and
# Pipedrive calling the reverse API.
from tests.extension.conftest import Pipedrive, basic, pipedrive  # noqa: F401
from tests.integration.pipedrive.conftest import browser, pd_live  # noqa: F401
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401
from tests.invoices.test_draft import installed  # noqa: F401
