"""Panel JWT verification (ISO-6): only HS256 with the secret Pipedrive signs with (the JWT secret,
else the client secret), a lifetime bounded by exp and/or iat to Pipedrive's 5 minutes, ids must match."""

from __future__ import annotations

import base64
import json
import time

import jwt as pyjwt
import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from integration.pipedrive.jwt import (
    LEEWAY_SECONDS,
    TOKEN_LIFETIME_SECONDS,
    PanelTokenError,
    PipedrivePanelAuthentication,
    membership_for_claims,
    verify_panel_token,
)
from integration.sandbox.pipedrive import services as sandbox
from integration.sandbox.pipedrive.models import SandboxUser
from integration.sandbox.pipedrive.seed import seed
from tenants.api import CompanyScopedApi
from tenants.models import Company

SECRET = "test-panel-jwt-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def jwt_secret(settings):
    settings.PIPEDRIVE_JWT_SECRET = SECRET


def make_token(
    *, company_id=1001, user_id=11, exp_in=300, iat_in=0, secret=SECRET, algorithm="HS256", drop=(), **extra
):
    now = int(time.time())
    claims = {"companyId": company_id, "userId": user_id, "iat": now + iat_in, "exp": now + exp_in}
    claims.update(extra)
    for name in drop:
        claims.pop(name)
    return pyjwt.encode(claims, secret, algorithm=algorithm)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def reason(**kwargs) -> str:
    with pytest.raises(PanelTokenError) as info:
        verify_panel_token(**kwargs)
    return info.value.code


def test_valid_token_gives_claims():
    claims = verify_panel_token(token=make_token(), company_id="1001", user_id="11")
    assert (claims.company_id, claims.user_id) == (1001, 11)


def test_string_ids_in_claims_are_accepted():
    claims = verify_panel_token(token=make_token(company_id="1001", user_id="11"), company_id=1001, user_id=11)
    assert (claims.company_id, claims.user_id) == (1001, 11)


def test_forged_signature_is_refused():
    assert reason(token=make_token(secret="not-our-secret-" * 3)) == "bad_signature"
    # A valid token with its payload swapped for another company's keeps the old signature.
    header, _payload, signature = make_token().split(".")
    tampered = f"{header}.{b64({'companyId': 2002, 'userId': 21, 'exp': int(time.time()) + 300})}.{signature}"
    assert reason(token=tampered) == "bad_signature"


def test_alg_none_is_refused():
    claims = {"companyId": 1001, "userId": 11, "exp": int(time.time()) + 300}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert reason(token=unsigned) == "bad_algorithm"


def test_hs512_swap_is_refused_even_with_our_secret():
    assert reason(token=make_token(algorithm="HS512")) == "bad_algorithm"


def test_expired_token_is_refused_after_the_leeway_only():
    assert reason(token=make_token(exp_in=-(LEEWAY_SECONDS + 5))) == "expired"
    # inside the 30 s clock-skew allowance it still passes
    assert verify_panel_token(token=make_token(exp_in=-(LEEWAY_SECONDS - 10))).company_id == 1001


def test_a_token_without_any_time_claim_never_expires_so_it_is_refused():
    assert reason(token=make_token(drop=("exp", "iat"))) == "no_lifetime"


def test_exp_is_not_promised_so_iat_alone_bounds_the_age():
    # Pipedrive documents a 5-minute lifetime, not the claims that carry it.
    claims = verify_panel_token(token=make_token(drop=("exp",), iat_in=-60))
    assert claims.expires_at.timestamp() == pytest.approx(time.time() - 60 + TOKEN_LIFETIME_SECONDS, abs=2)
    assert reason(token=make_token(drop=("exp",), iat_in=-(TOKEN_LIFETIME_SECONDS + LEEWAY_SECONDS + 5))) == "too_old"
    assert reason(token=make_token(drop=("exp",), iat_in=LEEWAY_SECONDS + 60)) == "not_yet_valid"
    # exp alone is bounded too: it may not reach further than Pipedrive's 5 minutes from now
    assert verify_panel_token(token=make_token(drop=("iat",), exp_in=200)).company_id == 1001
    assert reason(token=make_token(drop=("iat",), exp_in=3600)) == "lifetime_too_long"


def test_lifetimes_longer_than_pipedrive_issues_are_refused():
    # an hour-long token, and a still-valid one issued long ago: neither is one Pipedrive gave out
    assert reason(token=make_token(exp_in=3600)) == "lifetime_too_long"
    assert reason(token=make_token(iat_in=-3000, exp_in=60)) == "too_old"
    assert reason(token=make_token(iat_in=-100, exp_in=250)) == "lifetime_too_long"
    assert reason(token=make_token(nbf=int(time.time()) + 3600)) == "not_yet_valid"


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 10**30},
        {"iat": 10**30},
        {"exp": -(10**30)},
        {"exp": float("inf")},
        {"iat": float("-inf")},
        {"exp": float("nan")},
        {"exp": None},
        {"exp": "soon"},
        {"exp": [1]},
        {"iat": True},
        {"nbf": {"a": 1}},
        {"companyId": 10**30},
        {"userId": -11},
        {"userId": 11.5},
    ],
    ids=repr,
)
def test_absurd_claims_are_refused_cleanly(claims):
    token = make_token(**claims)
    assert reason(token=token) in {"bad_time", "lifetime_too_long", "not_yet_valid", "expired", "bad_claims"}


def test_ids_must_match_the_query_parameters():
    token = make_token(company_id=1001, user_id=11)
    assert reason(token=token, company_id="2002", user_id="11") == "mismatch"
    assert reason(token=token, company_id="1001", user_id="12") == "mismatch"


def test_missing_or_junk_claims_are_refused():
    assert reason(token=make_token(drop=("companyId",))) == "bad_claims"
    assert reason(token=make_token(user_id="abc")) == "bad_claims"
    assert reason(token="not-a-jwt") == "malformed"
    assert reason(token="") == "missing"


def test_blank_jwt_secret_means_the_client_secret_signs(settings):
    """Developer Hub: "JWT secret — Optional. Defaults to client secret"."""
    settings.PIPEDRIVE_JWT_SECRET = ""
    settings.PIPEDRIVE_CLIENT_SECRET = "our-client-secret-0123456789"
    assert verify_panel_token(token=make_token(secret="our-client-secret-0123456789")).user_id == 11
    assert reason(token=make_token(secret=SECRET)) == "bad_signature"
    # with a JWT secret set, the client secret no longer signs
    settings.PIPEDRIVE_JWT_SECRET = SECRET
    assert reason(token=make_token(secret="our-client-secret-0123456789")) == "bad_signature"


def test_no_secret_at_all_refuses_everything(settings):
    settings.PIPEDRIVE_JWT_SECRET = ""
    settings.PIPEDRIVE_CLIENT_SECRET = ""
    assert reason(token=make_token(secret="")) == "not_configured"


def test_claims_map_to_the_membership_or_401(personas):
    claims = verify_panel_token(token=make_token(company_id=1001, user_id=12))
    assert membership_for_claims(claims=claims) == personas.bob_membership
    with pytest.raises(PanelTokenError, match="unknown_company"):
        membership_for_claims(claims=verify_panel_token(token=make_token(company_id=999999)))
    with pytest.raises(PanelTokenError, match="unknown_user"):
        membership_for_claims(claims=verify_panel_token(token=make_token(company_id=1001, user_id=21)))
    Company.objects.filter(pk=personas.company_a.pk).update(status=Company.Status.UNINSTALLED)
    with pytest.raises(PanelTokenError, match="unknown_company"):
        membership_for_claims(claims=claims)


class WhoAmI(CompanyScopedApi):
    authentication_classes = [PipedrivePanelAuthentication]

    def get(self, request):
        return Response({"company": self.company.pipedrive_company_id, "membership": self.membership.pk})


def call_api(path: str, **headers):
    request = APIRequestFactory().get(path, **headers)
    return WhoAmI.as_view()(request)


def test_drf_authentication_puts_the_membership_on_request_auth(personas):
    token = make_token(company_id=2002, user_id=21)
    response = call_api("/x?companyId=2002&userId=21", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.data == {"company": 2002, "membership": personas.charlie_membership.pk}
    # a token in the URL is not accepted by the API (URLs are logged); the iframe pages read theirs
    response = call_api(f"/x?companyId=2002&userId=21&token={token}")
    assert response.status_code in (401, 403) and "membership" not in (response.data or {})


@pytest.mark.parametrize(
    "token_kwargs",
    [
        {"secret": "forged-secret-forged-secret-forged"},
        {"algorithm": "HS512"},
        {"exp_in": -600},
        {"drop": ("exp", "iat")},
        {"exp_in": 10**30},
        {"exp_in": float("inf")},
        {"company_id": 31337},
    ],
    ids=["forged", "hs512", "expired", "no-lifetime", "exp-1e30", "exp-inf", "unknown-company"],
)
def test_drf_authentication_answers_401(personas, token_kwargs):
    token = make_token(**{"company_id": 1001, "user_id": 11, **token_kwargs})
    response = call_api("/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Acme" not in json.dumps(response.data)


def test_company_b_token_cannot_claim_company_a_by_query_parameter(personas):
    # Charlie's valid token, with company A's ids in the query: refused, not scoped to either company.
    token = make_token(company_id=2002, user_id=21)
    response = call_api("/x?companyId=1001&userId=11", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_without_token_the_scheme_does_not_apply(personas):
    assert PipedrivePanelAuthentication().authenticate(APIRequestFactory().get("/x")) is None


@pytest.mark.parametrize("extension", ["panel", "modal"])
def test_the_sandbox_hosts_token_is_accepted(personas, extension):
    """The token the sandbox's deal page puts on our iframe (and answers GET_SIGNED_TOKEN with)."""
    seed()
    token = sandbox.extension_token(user=SandboxUser.objects.get(pk=11), extension=extension)
    claims = verify_panel_token(token=token, company_id="1001", user_id="11")
    assert membership_for_claims(claims=claims) == personas.alice_membership
    assert set(claims.raw) == {"userId", "companyId", "iat", "exp"}
    assert claims.raw["exp"] - claims.raw["iat"] == TOKEN_LIFETIME_SECONDS


def test_sandbox_in_client_secret_mode_and_we_follow(personas, settings):
    """Developer Hub's JWT secret left blank: the sandbox signs with the client secret, and so do we
    verify when PIPEDRIVE_JWT_SECRET is empty; a stale JWT secret on our side is refused."""
    seed()
    settings.PIPEDRIVE_SANDBOX_JWT_SECRET = ""
    settings.PIPEDRIVE_CLIENT_SECRET = "client-secret-for-both-0123456789"
    token = sandbox.extension_token(user=SandboxUser.objects.get(pk=12))
    assert pyjwt.decode(token, "client-secret-for-both-0123456789", algorithms=["HS256"])["userId"] == 12
    assert reason(token=token) == "bad_signature"  # we still hold SECRET: misconfigured, refused
    settings.PIPEDRIVE_JWT_SECRET = ""
    assert membership_for_claims(claims=verify_panel_token(token=token)) == personas.bob_membership
