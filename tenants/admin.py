"""Support console: people, memberships, field mapping, audit log. The company page (everything hangs
off it, invoices and connections too) is registered by `invoices/company_admin.py`.

Also tightens the admins other apps register: allauth's MFA authenticators and social tokens
hold secrets, so the console never shows them.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tenants.admin_base import ReadOnlyAdmin, SupportModelAdmin
from tenants.models import AuditLog, FieldMapping, Membership, User


def admin_link(obj, label=None, *, view: str = "change") -> str:
    """A link to `obj`'s admin page."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


def changelist_link(model, label, **query) -> str:
    """A link to the admin list of `model` (a model class or "app_label.modelname"), filtered by `query`."""
    from urllib.parse import urlencode

    if isinstance(model, str):
        app_label, model_name = model.lower().split(".")
    else:
        app_label, model_name = model._meta.app_label, model._meta.model_name
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(query), label)


@admin.register(User)
class UserAdmin(SupportModelAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "pipedrive_user_id", "is_admin", "created_at"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class FieldMappingInline(admin.StackedInline):
    model = FieldMapping
    extra = 0
    max_num = 1

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(SupportModelAdmin):
    list_display = ["user", "company", "pipedrive_user_id", "is_admin", "created_at"]
    list_filter = ["is_admin"]
    list_select_related = ["user", "company"]
    search_fields = ["user__email", "company__name", "=pipedrive_user_id", "=company__pipedrive_company_id"]
    raw_id_fields = ["user", "company"]


@admin.register(FieldMapping)
class FieldMappingAdmin(SupportModelAdmin):
    list_display = ["company", "to_entity", "to_key", "due_days", "default_currency", "updated_at"]
    list_select_related = ["company"]
    search_fields = ["company__name", "=company__pipedrive_company_id", "company__domain"]
    raw_id_fields = ["company"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Who ran which support action, when, on which company, and how it ended (with progress)."""

    list_display = ["created_at", "action", "actor_email", "company", "status", "progress", "message"]
    list_filter = ["status", "action", "created_at"]
    list_select_related = ["company"]
    search_fields = ["actor_email", "action", "company__name", "=company__pipedrive_company_id"]
    fields = readonly_fields = (
        "action",
        "status",
        "progress",
        "actor_email",
        "company",
        "target_model",
        "target_ids",
        "params",
        "message",
        "outcome",
        "created_at",
        "started_at",
        "finished_at",
    )

    @admin.display(description=_("Outcome per target"))
    def outcome(self, obj):
        from django.utils.html import format_html_join

        if not obj.results:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (r.get("id"), r.get("company_id") or "-", _("ok") if r.get("ok") else _("failed"), r.get("message"))
                for r in obj.results
            ),
        )
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("Target"),
            _("Company"),
            _("Result"),
            _("Message"),
        )
        return format_html("<table>{}{}</table>", header, rows)

    @admin.display(description=_("Progress"))
    def progress(self, obj):
        return f"{obj.done_count}/{obj.total} ({obj.succeeded} ok, {obj.failed} failed)"

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail is append-only, for superusers too


# allauth's admins: TOTP secrets and recovery-code seeds live in Authenticator.data, OAuth tokens
# in SocialToken, the app secret in SocialApp. Show metadata only.
def _tighten_allauth():
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialApp, SocialToken

    for model in (Authenticator, SocialToken, SocialApp):
        if admin.site.is_registered(model):
            admin.site.unregister(model)

    @admin.register(Authenticator)
    class AuthenticatorAdmin(ReadOnlyAdmin):
        list_display = ["user", "type", "created_at", "last_used_at"]
        list_select_related = ["user"]
        search_fields = ["user__email"]
        fields = readonly_fields = ("user", "type", "created_at", "last_used_at")

        def has_delete_permission(self, request, obj=None):
            return request.user.is_superuser  # removing a lost authenticator is a superuser's job

    @admin.register(SocialApp)
    class SocialAppAdmin(ReadOnlyAdmin):
        list_display = ["name", "provider", "client_id"]
        fields = readonly_fields = ("name", "provider", "provider_id", "client_id")


_tighten_allauth()
