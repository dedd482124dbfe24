"""The simulated Pipedrive web app: control page, uninstall request, deal page with our iframes."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings

from integration.sandbox.pipedrive import app_config, host_services, services
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxGrant, SandboxUninstallDelivery, SandboxUser
from tests.sandbox.pipedrive.conftest import ACME_API, PREFIX


class Receiver(BaseHTTPRequestHandler):
    """Our callback, as far as this test cares: records what arrives."""

    received: list = []

    def do_DELETE(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append(
            {
                "method": "DELETE",
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(self.rfile.read(length) or b"null"),
            }
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PIPEDRIVE_SANDBOX_CALLBACK_URL = f"http://127.0.0.1:{server.server_port}/pipedrive/callback"
    yield Receiver.received
    server.shutdown()
    server.server_close()


def test_control_page_lists_grants_companies_and_deals(client, pd_token):
    pd_token(12)
    body = client.get(f"{PREFIX}/").content.decode()
    assert "bob@acme.test (12)" in body
    assert "Uninstall" in body
    assert "Acme Robotics (demo)" in body and "Borealis Bakery (demo)" in body
    assert f"{PREFIX}/app/acme-demo/deal/1" in body


def test_uninstall_revokes_grant_and_deletes_on_callback_with_basic_auth(client, pd_get, pd_token, receiver):
    token = pd_token(12)
    grant = SandboxGrant.objects.get(access_tokens__token=token)
    response = client.post(f"{PREFIX}/controls/uninstall", {"grant_id": grant.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["status"] == 200
    [request] = receiver
    expected_auth = base64.b64encode(f"{settings.PIPEDRIVE_CLIENT_ID}:{settings.PIPEDRIVE_CLIENT_SECRET}".encode())
    assert request["authorization"] == f"Basic {expected_auth.decode()}"
    assert request["path"] == "/pipedrive/callback"
    assert request["content_type"] == "application/json"
    body = request["body"]
    assert (body["client_id"], body["company_id"], body["user_id"]) == (settings.PIPEDRIVE_CLIENT_ID, 1001, 12)
    assert body["timestamp"].endswith("Z")
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert pd_get(f"{ACME_API}/v1/users/me", token=token).status_code == 401
    assert SandboxUninstallDelivery.objects.get().status == 200


def test_uninstall_records_an_unreachable_callback(client, pd_token, settings):
    settings.PIPEDRIVE_SANDBOX_CALLBACK_URL = "http://127.0.0.1:9/pipedrive/callback"  # discard port: refused
    pd_token(11)
    grant = SandboxGrant.objects.get()
    response = client.post(f"{PREFIX}/controls/uninstall", {"grant_id": grant.pk})
    assert response.status_code == 302
    delivery = SandboxUninstallDelivery.objects.get()
    assert delivery.status is None and delivery.error == "ConnectionError"
    assert client.post(f"{PREFIX}/controls/uninstall", {"grant_id": grant.pk}).status_code == 404


def _panel_src(response) -> str:
    body = response.content.decode()
    start = body.index('data-src="') + len('data-src="')
    return body[start : body.index('"', start)].replace("&amp;", "&")


def test_deal_page_loads_panel_with_pipedrive_query_and_signed_jwt(client, pd_seed):
    response = client.get(f"{PREFIX}/app/acme-demo/deal/1", {"user_id": 12, "theme": "dark"})
    assert response.status_code == 200
    src = _panel_src(response)
    assert src.startswith(f"{settings.PUBLIC_BASE_URL}/panel/deal?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}
    assert set(query) == {"id", "userId", "companyId", "resource", "view", "selectedIds", "theme", "token"}
    assert (query["userId"], query["companyId"], query["resource"], query["view"]) == ("12", "1001", "deal", "details")
    assert (query["selectedIds"], query["theme"]) == ("1", "dark")
    claims = jwt.decode(query["token"], settings.PIPEDRIVE_JWT_SECRET, algorithms=["HS256"])
    assert (claims["userId"], claims["companyId"]) == (12, 1001)
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(query["token"], "another-secret", algorithms=["HS256"])
    body = response.content.decode()
    assert "Initech robot line" in body and "Robot arm R2" in body
    csp = response["Content-Security-Policy"]
    assert "frame-src 'self'" in csp


def test_deal_page_panel_url_override_is_same_site_only(client, pd_seed):
    probe = client.get(f"{PREFIX}/app/acme-demo/deal/1", {"panel_url": f"{PREFIX}/probe"})
    assert _panel_src(probe).startswith(f"{PREFIX}/probe?id=")
    foreign = client.get(f"{PREFIX}/app/acme-demo/deal/1", {"panel_url": "https://evil.test/x"})
    assert _panel_src(foreign).startswith(f"{settings.PUBLIC_BASE_URL}/panel/deal?")
    protocol_relative = client.get(f"{PREFIX}/app/acme-demo/deal/1", {"panel_url": "//evil.test/x"})
    assert _panel_src(protocol_relative).startswith(f"{settings.PUBLIC_BASE_URL}/panel/deal?")
    assert client.get(f"{PREFIX}/app/acme-demo/deal/99").status_code == 404
    assert client.get(f"{PREFIX}/app/nope/deal/1").status_code == 404


def test_panel_and_modal_urls_are_configurable(client, pd_seed, settings):
    settings.PIPEDRIVE_SANDBOX_PANEL_URL = "https://panel.example.test/p"
    response = client.get(f"{PREFIX}/app/acme-demo/deal/2")
    assert _panel_src(response).startswith("https://panel.example.test/p?id=")
    assert "https://panel.example.test" in response["Content-Security-Policy"]


def test_signed_token_endpoint_signs_for_the_viewer(client, pd_seed):
    answer = client.get(f"{PREFIX}/app/acme-demo/signed-token", {"user_id": 11}).json()
    claims = jwt.decode(answer["token"], settings.PIPEDRIVE_JWT_SECRET, algorithms=["HS256"])
    assert (claims["userId"], claims["companyId"]) == (11, 1001)
    assert set(answer) == {"token"}


def test_custom_modal_opens_only_the_registered_modal_by_id_or_name(client, pd_seed):
    """Developer Hub gives the modal an ID; OPEN_MODAL's action_id is that ID (or the modal's name)."""
    url = f"{PREFIX}/app/acme-demo/custom-modal"
    by_id = client.get(url, {"user_id": 11, "action_id": app_config.SANDBOX_MODAL_ID, "deal_id": 3})
    assert by_id.status_code == 200
    src = by_id.json()["src"]
    assert src.startswith(f"{settings.PUBLIC_BASE_URL}/panel/invoice-modal?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}
    assert (query["selectedIds"], query["userId"], query["companyId"]) == ("3", "11", "1001")
    assert client.get(url, {"user_id": 11, "action_id": app_config.SANDBOX_MODAL_NAME}).status_code == 200
    for wrong in ("create-invoice", "", app_config.SANDBOX_PANEL_ID):
        refused = client.get(url, {"user_id": 11, "action_id": wrong})
        assert refused.status_code == 404, wrong
        assert "no custom modal" in refused.json()["error"]
    # the same-site override of the iframe URL (tests) still requires a registered id
    probe = client.get(url, {"action_id": app_config.SANDBOX_MODAL_ID, "modal_url": f"{PREFIX}/probe"})
    assert probe.json()["src"].startswith(f"{PREFIX}/probe?")
    assert client.get(url, {"action_id": "nope", "modal_url": f"{PREFIX}/probe"}).status_code == 404


def test_the_registered_modal_id_is_configurable_and_our_default_matches_it(client, pd_seed, settings):
    from django.conf import settings as live

    assert live.PIPEDRIVE_MODAL_ID == app_config.SANDBOX_MODAL_ID  # the demo's settings follow the sandbox
    settings.PIPEDRIVE_SANDBOX_MODAL_ID = "1234"
    url = f"{PREFIX}/app/acme-demo/custom-modal"
    assert client.get(url, {"action_id": "1234"}).status_code == 200
    assert client.get(url, {"action_id": app_config.SANDBOX_MODAL_ID}).status_code == 404


@pytest.mark.parametrize("extension", ["panel", "modal"])
def test_tokens_follow_the_extension_jwt_secret_or_the_client_secret(client, pd_seed, settings, extension):
    """ "JWT secret — Optional. Defaults to client secret" (custom panels/modals in Developer Hub)."""
    settings.PIPEDRIVE_SANDBOX_JWT_SECRET = "typed-in-developer-hub-0123456789"
    answer = client.get(f"{PREFIX}/app/acme-demo/signed-token", {"user_id": 12, "extension": extension}).json()
    claims = jwt.decode(answer["token"], "typed-in-developer-hub-0123456789", algorithms=["HS256"])
    assert set(claims) == {"userId", "companyId", "iat", "exp"} and claims["exp"] - claims["iat"] == 300
    settings.PIPEDRIVE_SANDBOX_JWT_SECRET = ""
    answer = client.get(f"{PREFIX}/app/acme-demo/signed-token", {"user_id": 12, "extension": extension}).json()
    assert jwt.decode(answer["token"], settings.PIPEDRIVE_CLIENT_SECRET, algorithms=["HS256"])["userId"] == 12
    src = host_services.iframe_src(base="https://x.test/p", user=SandboxUser.objects.get(pk=12), deal_id=1)
    token = parse_qs(urlsplit(src).query)["token"][0]
    assert jwt.decode(token, settings.PIPEDRIVE_CLIENT_SECRET, algorithms=["HS256"])["companyId"] == 1001


def test_init_timeout_can_only_be_shortened(client, pd_seed):
    def timeout(value):
        body = client.get(f"{PREFIX}/app/acme-demo/deal/1", {"init_timeout_ms": value}).content.decode()
        return int(body.split('data-init-timeout-ms="')[1].split('"')[0])

    assert (timeout("1500"), timeout("60000"), timeout("x"), timeout("5")) == (1500, 10000, 10000, 200)


def test_probe_page_can_be_framed_by_the_sandbox_only(client, db):
    response = client.get(f"{PREFIX}/probe")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "vendor/pipedrive-app-extensions-sdk/index.umd.js" in response.content.decode()


def test_iframe_src_helper_signs_for_the_viewer(pd_seed):
    user = SandboxUser.objects.get(pk=21)
    src = host_services.iframe_src(base="https://x.test/panel?a=1", user=user, deal_id=1)
    query = {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}
    assert query["a"] == "1" and query["companyId"] == "2002"
    assert jwt.decode(query["token"], settings.PIPEDRIVE_JWT_SECRET, algorithms=["HS256"])["userId"] == 21
    assert services.extension_token(user=user) != ""


def test_limits_control_sets_and_resets(client, pd_get, pd_token):
    token = pd_token()
    pd_get(f"{ACME_API}/v2/deals", token=token)
    response = client.post(
        f"{PREFIX}/controls/limits", {"company_id": 1001, "burst_limit": 1, "daily_budget": 50, "reset_usage": "on"}
    )
    assert response.status_code == 302
    company = SandboxCompany.objects.get(pk=1001)
    assert (company.burst_limit, company.daily_budget, company.budget_used) == (1, 50, 0)
    assert pd_get(f"{ACME_API}/v2/deals/1", token=token).status_code == 200
    assert pd_get(f"{ACME_API}/v2/deals/1", token=token).status_code == 429
    bad = client.post(f"{PREFIX}/controls/limits", {"company_id": 1001, "burst_limit": "0"})
    assert bad.status_code == 400
    assert SandboxCompany.objects.get(pk=1001).burst_limit == 1
