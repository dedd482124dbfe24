"""The admin site: staff only, signed in through allauth with a TOTP second factor."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


def staff_passed_mfa(request) -> bool:
    """True when this session's sign-in included a TOTP/recovery-code step."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


class StaffAdminSite(admin.AdminSite):
    site_header = "QuickBooks for Pipedrive: support"
    site_title = "Support"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_mfa_enabled(user) and staff_passed_mfa(request))

    def login(self, request, extra_context=None):
        """Send people to allauth: sign in, then set up or pass TOTP before the admin opens."""
        next_url = request.GET.get("next") or reverse("admin:index")
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
