"""The support console's ModelAdmin bases, shared by every app's admin: only superusers delete,
support actions (`tenants.support`) are confirmed, permission-checked and audited, and product
records are read-only. The admin site itself is `config.admin.StaffAdminSite`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tenants.support import ACTIONS, may_run, support_action_start


class ResyncForm(forms.Form):
    since = forms.DateField(
        label=_("Resync changes since"),
        help_text=_("QuickBooks keeps changes for 30 days; earlier dates start 29 days back."),
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=lambda: (timezone.now() - timedelta(days=7)).date(),
    )


MAX_ACTION_TARGETS = 10_000  # one background job; larger selections are refused, never truncated


def support_action(name: str, *, expand=None):
    """An admin action running `tenants.support` action `name` after a confirmation page.

    `expand(queryset)` maps the selected rows to the action's targets (e.g. companies to their
    failed invoices); without it the selected rows are the targets.
    """
    from django.contrib.admin import helpers
    from django.http import HttpResponseRedirect
    from django.template.response import TemplateResponse
    from django.urls import reverse

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
    permission-checked and audited (see tenants.support)."""

    support_actions: tuple[str, ...] = ()
    # Maps the selected rows to the rows the action acts on, when they differ.
    support_action_expand: dict[str, Callable[[QuerySet], QuerySet]] | None = None

    def has_delete_permission(self, request, obj=None):
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        extra.setdefault(
            "support_object_actions",
            [(name, ACTIONS[name].label) for name in self.support_actions if may_run(user=request.user, action=name)],
        )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_actions(self, request):
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
