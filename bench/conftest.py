"""`make bench` runs these as pytest modules so they get a live server with the sandboxes."""

from tests.conftest import *  # noqa: F403 (fixtures: personas, web_as, sandbox_base_url; the network guard)
from tests.integration.quickbooks.conftest import *  # noqa: F403 (qbo, connected, link_calls, client_of)
