import pytest
from rest_framework.test import APIClient

from tests import network_guard
from tests.personas import make_personas


def pytest_configure(config):
    network_guard.install()
    # The translation catalogues are build output: compile what is missing or stale (Babel, no gettext).
    from config.catalogues import compile_catalogues

    compile_catalogues()


@pytest.fixture(autouse=True)
def _language_per_test():
    """A request or a panel token may activate a user's language in this thread: no test inherits it."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fail_on_network_access(request):
    """Fail a test that reached for the network, even if the code under test caught the error."""
    network_guard.violations.clear()
    yield
    if network_guard.violations and not request.node.get_closest_marker("network_guard_test"):
        pytest.fail(f"test tried to reach the network: {network_guard.violations}")


@pytest.fixture(autouse=True)
def _forget_panel_seats():
    """The panel's seat cache lives in the process: no test may inherit another test's seats."""
    from invoices.panel_reads import forget_seats

    forget_seats()
    yield
    forget_seats()


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


@pytest.fixture
def sandbox_base_url(live_server, settings):
    """Serve the app (and its sandboxes) on a real loopback port and point every Intuit and
    Pipedrive base URL at it, so clients talk to the sandboxes over HTTP like the real services."""
    base = live_server.url
    sandbox = f"{base}/sandbox"
    settings.PUBLIC_BASE_URL = base
    settings.QBO_AUTHORIZE_URL = f"{sandbox}/quickbooks/oauth2/authorize"
    settings.QBO_TOKEN_URL = f"{sandbox}/quickbooks/oauth2/tokens/bearer"
    settings.QBO_REVOKE_URL = f"{sandbox}/quickbooks/oauth2/tokens/revoke"
    settings.QBO_API_BASE_URL = f"{sandbox}/quickbooks"
    settings.QBO_APP_BASE_URL = f"{sandbox}/quickbooks/app"
    settings.PIPEDRIVE_OAUTH_BASE_URL = f"{sandbox}/pipedrive/oauth"
    from integration.quickbooks.limiter import reset_all

    reset_all()  # no rate-limit counts or 429 pauses carried over from another test
    return base
