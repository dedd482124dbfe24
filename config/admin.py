"""The admin site: staff only, signed in through allauth with a TOTP second factor."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _


def staff_passed_mfa(request) -> bool:
    """True when this session's sign-in included a TOTP/recovery-code step."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def safe_next(request, value: str | None, *, default: str) -> str:
    """`value` when it is a path on this site, else `default`: never another host (open redirect),
    a scheme (`javascript:`) or a protocol-relative `//host`."""
    value = (value or "").strip()
    if (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return default


class StaffAdminSite(admin.AdminSite):
    site_header = "QuickBooks for Pipedrive: support"
    site_title = "Support"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_mfa_enabled(user) and staff_passed_mfa(request))

    def login(self, request, extra_context=None):
        """Send people to allauth: sign in, then set up or pass TOTP before the admin opens."""
        next_url = safe_next(request, request.GET.get("next"), default=reverse("admin:index"))
        query = urlencode({"next": next_url})
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('account_login')}?{query}")
        if not user.is_staff:
            return redirect("home")
        if not is_mfa_enabled(user):
            return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        if not staff_passed_mfa(request):
            return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
        return redirect(next_url)

    index_template = "admin/support/index.html"

    def get_urls(self):
        from django.urls import path

        return [
            path("support/health/", self.admin_view(self.sync_health_view), name="support_health"),
            *super().get_urls(),
        ]

    def sync_health_view(self, request):
        """The sync-health overview: reconnects, expiring tokens, failing jobs and webhooks, 429s."""
        from django.core.exceptions import PermissionDenied
        from django.template.response import TemplateResponse

        from invoices.support import sync_health

        if not request.user.has_perm("quickbooks.view_quickbooksconnection"):
            raise PermissionDenied
        context = {**self.each_context(request), "title": _("Sync health"), **sync_health()}
        return TemplateResponse(request, "admin/support/health.html", context)
