"""The DRF base view for tenant data, and the JSON error format of our APIs."""

from __future__ import annotations

import logging
from contextvars import Token

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Membership
from tenants.scoping import CompanyScopeError, enter_company_scope, exit_company_scope
from tenants.selectors import membership_for_session

logger = logging.getLogger(__name__)


def resolve_membership(request) -> Membership | None:
    """The acting seat, from the authenticated principal only, never from client parameters.

    An authentication class may put a `membership` on `request.auth` (the Pipedrive panel JWT
    does); otherwise a session user's active seat is used.
    """
    membership = getattr(request.auth, "membership", None)
    if membership is not None:
        return membership
    return membership_for_session(user=request.user, session=request.session)


class IsCompanyMember(BasePermission):
    message = _("You are not a member of any company using this app.")

    def has_permission(self, request, view) -> bool:
        return getattr(view, "membership", None) is not None


class IsCompanyAdmin(IsCompanyMember):
    message = _("Only company admins can do this.")

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and view.membership.is_admin


class CompanyScopedApi(APIView):
    """Base for every API view over tenant data: `self.company` and `self.membership` are set
    from the principal, and the whole request runs inside that company's scope."""

    permission_classes = [IsAuthenticated, IsCompanyMember]
    membership: Membership | None = None
    _scope_token: Token | None = None

    def initial(self, request, *args, **kwargs):
        # Authenticate first so permissions can see the membership; DRF's own initial() then
        # checks permissions and throttles as usual.
        self.perform_authentication(request)
        membership = resolve_membership(request) if request.user.is_authenticated else None
        if membership is not None:
            self.membership = membership
            self.company = membership.company
            self._scope_token = enter_company_scope(self.company)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        token = getattr(self, "_scope_token", None)
        if token is not None:
            exit_company_scope(token)
            self._scope_token = None
        return super().finalize_response(request, response, *args, **kwargs)


def _drf_response(exc, *, rollback: bool):
    """DRF's own exception handling (rest_framework.views.exception_handler), where the rollback of
    the request transaction is optional: views that manage their own transactions have none."""
    from django.core.exceptions import PermissionDenied
    from rest_framework.views import set_rollback

    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    data = exc.detail if isinstance(exc.detail, list | dict) else {"detail": exc.detail}
    if rollback:
        set_rollback()
    return Response(data, status=exc.status_code, headers=headers)


class TemporarilyUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "temporarily_unavailable"
    wait = 5  # Retry-After (seconds)


def is_outage(exc: BaseException) -> bool:
    """Our own database, Redis or broker is unreachable: a 503 to retry, never an HTML 500."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return True
    try:
        import redis
        from kombu.exceptions import OperationalError as BrokerError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | BrokerError)


def exception_handler(exc, context):
    """Errors as `{"error": {"code", "message", "fields"}}`; objects of other companies are 404;
    outages of our own services are 503 with Retry-After."""
    if isinstance(exc, CompanyScopeError):
        exc = Http404()
    elif is_outage(exc):
        import logging

        logging.getLogger(__name__).error("service outage answered 503: %r", exc)
        exc = TemporarilyUnavailable(_("The service is briefly unavailable; try again in a few seconds."))
    response = _drf_response(exc, rollback=not getattr(context.get("view"), "manages_transactions", False))
    if response is None:
        return None
    data = response.data
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        code, message = "invalid", _("Some fields are not valid.")
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
    else:
        detail = getattr(exc, "detail", None)
        code = str(getattr(detail, "code", None) or getattr(exc, "default_code", "error"))
        message = str(detail) if detail is not None else str(exc)
        if isinstance(exc, Http404 | exceptions.NotFound):
            code, message = "not_found", _("Not found.")
        if response.status_code == 401:
            # The client learns only that it is not authenticated; why (expired, forged, unknown
            # company…) is for our log, not for whoever holds the token.
            request = context.get("request")
            logger.info("API 401 %s: %s (%s)", getattr(request, "path", "?"), code, message)
            code, message = "not_authenticated", _("Not authenticated.")
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    if response.status_code == 503 and not response.has_header("Retry-After"):
        response["Retry-After"] = str(int(getattr(exc, "wait", None) or 5))
    return response
