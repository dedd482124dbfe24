"""Request guards shared by the machine-facing surfaces, answered in each surface's own JSON
envelope (never Django's HTML 400): a body size limit per surface, a JSON nesting limit, and
access-log redaction of the tokens some URLs carry."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)

MAX_JSON_DEPTH = 64  # our drafts and Pipedrive's bodies nest 4 deep; json.loads recurses per level

# Strings first (a bracket inside a string is text), then every bracket in order.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _surface(path: str) -> str | None:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/ext/invoicing/"):
        return "extension"
    if path.startswith("/webhooks/"):
        return "webhook"
    return None


def surface_error(surface: str, *, status: int, code: str, message: str) -> JsonResponse:
    """`code`/`message` in the envelope of `surface` (see tenants.api, invoices.extension.errors)."""
    body: dict[str, object]
    if surface == "api":
        body = {"error": {"code": code, "message": message, "fields": {}}}
    elif surface == "extension":
        body = {"success": False, "data": None, "error": message, "errorCode": code, "fields": {}}
    else:
        body = {"error": message, "code": code}
    return JsonResponse(body, status=status)


_DJANGO_REFUSALS = {
    400: ("bad_request", gettext_lazy("The request is not valid.")),
    403: ("forbidden", gettext_lazy("You are not allowed to do this.")),
    404: ("not_found", gettext_lazy("Not found.")),
    405: ("method_not_allowed", gettext_lazy("Method not allowed.")),
}


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def _content_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


class RequestGuardMiddleware:
    """Refuse bodies over the surface's limit (413) and JSON nested deeper than MAX_JSON_DEPTH (400)
    before any view, parser or signature check reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        surface = _surface(request.path)
        if surface is not None and request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            refusal = self._refusal(request, surface)
            if refusal is not None:
                return refusal
        response = self.get_response(request)
        if surface is not None and 400 <= response.status_code < 500 and _is_html(response):
            # Django's own refusals (no URL matched, method not allowed, bad request) are HTML
            # pages; machines get the surface's envelope.
            code, message = _DJANGO_REFUSALS.get(response.status_code, ("refused", gettext_lazy("Refused.")))
            envelope = surface_error(surface, status=response.status_code, code=code, message=str(message))
            if response.has_header("Allow"):
                envelope["Allow"] = response["Allow"]
            return envelope
        return response

    @staticmethod
    def _refusal(request, surface: str) -> JsonResponse | None:
        limit = settings.REQUEST_BODY_LIMITS[surface]
        length = _content_length(request)
        if length > limit:
            logger.warning("%s body of %d bytes refused (limit %d): %s", surface, length, limit, request.path)
            return surface_error(
                surface,
                status=413,
                code="body_too_large",
                message=_("The request body is too large (at most %(limit)d bytes).") % {"limit": limit},
            )
        if length and "json" in (request.content_type or "") and json_depth_exceeds(request.body):
            return surface_error(
                surface,
                status=400,
                code="json_too_deep",
                message=_("The JSON body is nested too deeply (at most %(depth)d levels).") % {"depth": MAX_JSON_DEPTH},
            )
        return None
