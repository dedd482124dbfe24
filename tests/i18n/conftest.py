"""The Pipedrive sandbox on the live server and a browser session, shared with tests/integration/pipedrive."""

from tests.integration.pipedrive.conftest import browser, pd_live  # noqa: F401
