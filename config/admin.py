"""The admin site: staff only, signed in through allauth with a TOTP second factor."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


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

        from integration.support import sync_health

        if not request.user.has_perm("quickbooks.view_quickbooksconnection"):
            raise PermissionDenied
        context = {**self.each_context(request), "title": _("Sync health"), **sync_health()}
        return TemplateResponse(request, "admin/support/health.html", context)


# -- shared pieces of the support console's ModelAdmins --------------------------------------------


class ResyncForm(forms.Form):
    since = forms.DateField(
        label=_("Resync changes since"),
        help_text=_("QuickBooks keeps changes for 30 days; earlier dates start 29 days back."),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=lambda: (timezone.now() - timedelta(days=7)).date(),
    )


MAX_ACTION_TARGETS = 10_000  # one background job; larger selections are refused, never truncated


def support_action(name: str, *, expand=None):
    """An admin action running `integration.support` action `name` after a confirmation page.

    `expand(queryset)` maps the selected rows to the action's targets (e.g. companies to their
    failed invoices); without it the selected rows are the targets.
    """
    from django.contrib.admin import helpers
    from django.http import HttpResponseRedirect
    from django.template.response import TemplateResponse
    from django.urls import reverse

    from integration.support import ACTIONS, support_action_start

    spec = ACTIONS[name]

    def action(modeladmin, request, queryset):
        targets = expand(queryset) if expand is not None else queryset
        target_ids = list(targets.values_list("pk", flat=True)[: MAX_ACTION_TARGETS + 1])
        if len(target_ids) > MAX_ACTION_TARGETS:
            modeladmin.message_user(
                request,
                _("That is more than %(max)s targets: select fewer at a time.") % {"max": MAX_ACTION_TARGETS},
                messages.ERROR,
            )
            return None
        form = ResyncForm(request.POST if request.POST.get("confirm") == "yes" else None) if name == "resync" else None
        if request.POST.get("confirm") == "yes" and (form is None or form.is_valid()):
            if not target_ids:
                modeladmin.message_user(request, _("Nothing to do: no matching targets."), messages.WARNING)
                return None
            params = {"since": form.cleaned_data["since"].isoformat()} if form is not None else {}
            entry = support_action_start(action=name, actor=request.user, target_ids=target_ids, params=params)
            modeladmin.message_user(
                request,
                ngettext(
                    "%(action)s: started as a background job on %(total)s target (audit record #%(id)s).",
                    "%(action)s: started as a background job on %(total)s targets (audit record #%(id)s).",
                    entry.total,
                )
                % {"action": spec.label, "total": entry.total, "id": entry.pk},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:tenants_auditlog_change", args=[entry.pk]))
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Confirm: %(action)s") % {"action": spec.label},
            "spec": spec,
            "action_name": name,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "targets": list(targets[:50]),
            "target_count": len(target_ids),
            "form": form,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/support/confirm_action.html", context)

    action.__name__ = f"support_{name}"
    return action, f"support_{name}", spec.label


class SupportModelAdmin(admin.ModelAdmin):
    """Defaults of the support console: only superusers delete; support actions are confirmed,
    permission-checked and audited (see integration.support)."""

    support_actions: tuple[str, ...] = ()
    support_action_expand = None  # maps selected rows to the action's targets, when they differ

    def has_delete_permission(self, request, obj=None):
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from integration.support import ACTIONS, may_run

        extra = dict(extra_context or {})
        extra.setdefault(
            "support_object_actions",
            [(name, ACTIONS[name].label) for name in self.support_actions if may_run(user=request.user, action=name)],
        )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_actions(self, request):
        from integration.support import may_run

        actions = super().get_actions(request)
        for name in self.support_actions:
            if may_run(user=request.user, action=name):
                expand = self.support_action_expand.get(name) if self.support_action_expand else None
                func, key, label = support_action(name, expand=expand)
                actions[key] = (func, key, label)
        return actions


class ReadOnlyAdmin(SupportModelAdmin):
    """Records written by the product (logs, sync state): looked at, never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
