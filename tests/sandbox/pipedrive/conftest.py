import pytest

from integration.sandbox.pipedrive import services
from integration.sandbox.pipedrive.models import SandboxUser
from integration.sandbox.pipedrive.seed import seed

PREFIX = "/sandbox/pipedrive"
ACME_API = f"{PREFIX}/api/acme-demo/api"
BOREALIS_API = f"{PREFIX}/api/borealis-demo/api"


@pytest.fixture
def pd_seed(db):
    """The sandbox's demo data (companies 1001 and 2002)."""
    return seed()


@pytest.fixture
def pd_token(pd_seed):
    """`pd_token(user_id=11, scopes=None)` issues a fresh grant and returns its access token."""

    def issue(user_id: int = 11, scopes: list[str] | None = None) -> str:
        return services.tokens_issue(user=SandboxUser.objects.get(pk=user_id), scopes=scopes).access_token

    return issue


@pytest.fixture
def pd_get(client, pd_token):
    """`pd_get(path, token=None, **query)`: GET on the sandbox API with a bearer token (alice by default)."""

    def get(path: str, token: str | None = None, **query):
        bearer = token or pd_token()
        return client.get(path, query, HTTP_AUTHORIZATION=f"Bearer {bearer}")

    return get
