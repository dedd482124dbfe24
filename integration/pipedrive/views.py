"""Install (Marketplace- or site-started), sign-in and uninstall endpoints.

Pipedrive allows one Callback URL per app; it receives the install redirect (GET) and the
uninstall notice (DELETE). https://pipedrive.readme.io/docs/app-installation-flows ,
https://pipedrive.readme.io/docs/app-uninstallation
"""

from __future__ import annotations

import hmac
import json
import logging
import time

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.internal import statekit
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integration.errors import AuthRevoked, PermanentError, TransientError
from integration.pipedrive import services
from integration.pipedrive.allauth_provider.provider import PipedriveProvider
from integration.pipedrive.allauth_provider.views import callback_url
from integration.pipedrive.basic_auth import is_pipedrive
from tenants.services import membership_activate

logger = logging.getLogger(__name__)


def _provider(request: HttpRequest) -> PipedriveProvider:
    return get_social_adapter(request).get_provider(request, PipedriveProvider.id)


def _install_error(request: HttpRequest, reason: str, *, status: int = 400) -> HttpResponse:
    return render(request, "pipedrive/install_error.html", {"reason": reason}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def install(request: HttpRequest) -> HttpResponse:
    """Start the OAuth flow from our site (landing page "Install", or Developer Hub's Installation URL):
    the allauth provider stashes a single-use state in the session and redirects to Pipedrive's consent."""
    return _provider(request).redirect(request, process=AuthProcess.LOGIN, next_url=reverse("tenants:settings"))


@csrf_exempt  # Pipedrive's DELETE carries Basic auth, no CSRF token; GET is a top-level redirect
@transaction.non_atomic_requests  # HTTP calls to Pipedrive must not run inside one long request transaction
@never_cache
@require_http_methods(["GET", "DELETE"])
def callback(request: HttpRequest) -> HttpResponse:
    if request.method == "DELETE":
        return _uninstall(request)
    return _install_callback(request)


def _install_callback(request: HttpRequest) -> HttpResponse:
    provider = _provider(request)
    state_id = request.GET.get("state")
    if state_id:
        # Our site started this flow: the state must be the one stashed in this browser's session
        # (single use, 10 minutes). Consumed even when Pipedrive reports an error.
        state = statekit.unstash_state(request, provider_id=provider.sub_id, state_id=state_id)
        if state is None:
            return _install_error(request, "state")
    else:
        # Marketplace-started install: Pipedrive sends no state.
        state = {"process": AuthProcess.LOGIN, "data": None, "next": reverse("tenants:settings")}
    # Only ever a sign-in: connecting a Pipedrive identity to another signed-in user is not offered.
    state["process"] = AuthProcess.LOGIN
    state.setdefault("next", reverse("tenants:settings"))

    error = request.GET.get("error")
    if error:
        return _install_error(request, "user_denied" if error == "user_denied" else "denied")
    code = request.GET.get("code", "")
    if not code:
        return _install_error(request, "missing_code")

    try:
        result = services.install_from_code(code=code, redirect_uri=callback_url())
    except AuthRevoked:
        return _install_error(request, "invalid_code")
    except TransientError:
        logger.warning("pipedrive install: Pipedrive unavailable", exc_info=True)
        return _install_error(request, "unavailable", status=502)
    except PermanentError as exc:
        logger.warning("pipedrive install refused: %s (%s)", exc.message, exc.code)
        return _install_error(request, "failed")

    sociallogin = provider.sociallogin_from_response(request, result.me.raw)
    sociallogin.state = state
    if not state_id and request.user.is_authenticated and request.user.pk != result.membership.user_id:
        # Login CSRF: a state-less code could be an attacker's, sent to a signed-in victim. The
        # install is done (tokens stored for the account that consented); switching this browser
        # to that account waits for the person to confirm it on our page (POST with CSRF token).
        request.session[PENDING_LOGIN_KEY] = {
            "sociallogin": sociallogin.serialize(),
            "membership_id": result.membership.pk,
            "expires": time.time() + PENDING_LOGIN_SECONDS,
        }
        return _confirm_page(request, result.membership)
    return _finish_login(request, sociallogin, result.membership)


PENDING_LOGIN_KEY = "pipedrive_pending_login"
PENDING_LOGIN_SECONDS = 600


def _finish_login(request: HttpRequest, sociallogin, membership) -> HttpResponse:
    response = complete_social_login(request, sociallogin)
    if request.user.is_authenticated and request.user.pk == membership.user_id:
        membership_activate(request=request, membership=membership)
    return response


def _confirm_page(request: HttpRequest, membership) -> HttpResponse:
    return render(
        request,
        "pipedrive/install_confirm.html",
        {"current": request.user, "incoming": membership.user, "company": membership.company},
    )


@never_cache
@require_http_methods(["POST"])
def install_confirm(request: HttpRequest) -> HttpResponse:
    """The answer of the confirmation page: switch to the Pipedrive account that installed, or stay."""
    from allauth.socialaccount.models import SocialLogin

    from tenants.models import Membership

    pending = request.session.pop(PENDING_LOGIN_KEY, None)
    if not pending or pending.get("expires", 0) < time.time():
        return _install_error(request, "state")
    if request.POST.get("decision") != "switch":
        return redirect("tenants:settings")
    membership = Membership.all_companies.select_related("user", "company").filter(pk=pending["membership_id"]).first()
    if membership is None:
        return _install_error(request, "failed")
    sociallogin = SocialLogin.deserialize(pending["sociallogin"])
    return _finish_login(request, sociallogin, membership)


def _uninstall(request: HttpRequest) -> HttpResponse:
    """`DELETE` from Pipedrive's OAuth server after a user uninstalled: JSON {client_id, company_id,
    user_id, timestamp}, Basic client_id:client_secret. Pipedrive ignores our answer, but it is
    still precise for logs and tests."""
    if not is_pipedrive(request.headers.get("Authorization")):
        response = JsonResponse({"success": False, "error": "unauthorized"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="pipedrive-uninstall"'
        return response
    try:
        body = json.loads(request.body or b"{}")
        # Types are undocumented (numbers or strings): parse leniently.
        company_id = int(str(body["company_id"]).strip())
        user_id = int(str(body["user_id"]).strip())
    except (ValueError, TypeError, KeyError):
        return JsonResponse({"success": False, "error": "company_id and user_id are required"}, status=400)
    body_client = body.get("client_id")
    if body_client is not None and not hmac.compare_digest(
        str(body_client).encode(), settings.PIPEDRIVE_CLIENT_ID.encode()
    ):
        return JsonResponse({"success": False, "error": "client_id does not match"}, status=400)
    result = services.installation_uninstall(pipedrive_company_id=company_id, pipedrive_user_id=user_id)
    return JsonResponse({"success": True, "removed": result.removed, "company_uninstalled": result.company_uninstalled})
