"""Support console: companies (the page everything hangs off), people, field mapping, audit log.

Also tightens the admins other apps register: allauth's MFA authenticators and social tokens
hold secrets, so the console never shows them.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin, SupportModelAdmin
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceDeal
from tenants.models import AuditLog, Company, FieldMapping, Membership, User


def admin_link(obj, label=None, *, view: str = "change") -> str:
    """A link to `obj`'s admin page."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else str(obj))


def changelist_link(model, label, **query) -> str:
    from urllib.parse import urlencode

    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
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


def _live_connection(field: str):
    return Subquery(
        QuickBooksConnection.all_companies.filter(
            company=OuterRef("pk"), status__in=QuickBooksConnection.LIVE_STATUSES
        ).values(field)[:1]
    )


def _company_live_connections(queryset):
    return QuickBooksConnection.all_companies.filter(
        company__in=queryset, status__in=QuickBooksConnection.LIVE_STATUSES
    )


def _company_jobs(queryset):
    from integration.support import JOB_STATES

    return Invoice.all_companies.filter(company__in=queryset, state__in=JOB_STATES)


class ConnectionStateFilter(admin.SimpleListFilter):
    title = _("QuickBooks connection")
    parameter_name = "qbo"

    def lookups(self, request, model_admin):
        return [*QuickBooksConnection.Status.choices, ("none", _("Never connected"))]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        connections = QuickBooksConnection.all_companies
        if value == "none":
            return queryset.exclude(pk__in=connections.values("company_id"))
        if value == QuickBooksConnection.Status.DISCONNECTED:
            # Disconnected and not connected again since.
            live = connections.filter(status__in=QuickBooksConnection.LIVE_STATUSES).values("company_id")
            return queryset.filter(pk__in=connections.filter(status=value).values("company_id")).exclude(pk__in=live)
        return queryset.filter(pk__in=QuickBooksConnection.all_companies.filter(status=value).values("company_id"))


class FailedJobsFilter(admin.SimpleListFilter):
    title = _("failed jobs")
    parameter_name = "jobs"

    def lookups(self, request, model_admin):
        return [("yes", _("Has pending or failed invoices"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=_company_jobs(Company.objects.all()).values("company_id"))
        return queryset


def company_search_ids(term: str) -> Q:
    """Companies matched by what support is told on the phone: Pipedrive company id or domain,
    realm id, QBO invoice id or number, deal id, customer name, user email."""
    term = term.strip()
    match = Q(name__icontains=term) | Q(domain__iexact=term) | Q(api_domain__icontains=term)
    match |= Q(pk__in=Membership.all_companies.filter(user__email__iexact=term).values("company_id"))
    match |= Q(pk__in=Invoice.all_companies.filter(customer_name__icontains=term).values("company_id"))
    match |= Q(pk__in=Invoice.all_companies.filter(doc_number=term).values("company_id"))
    if term.isdigit():
        number = int(term)
        match |= Q(pipedrive_company_id=number)
        match |= Q(pk__in=QuickBooksConnection.all_companies.filter(realm_id=term).values("company_id"))
        match |= Q(pk__in=Invoice.all_companies.filter(qbo_id=term).values("company_id"))
        match |= Q(pk__in=InvoiceDeal.all_companies.filter(deal_id=number).values("company_id"))
    return match


@admin.register(Company)
class CompanyAdmin(SupportModelAdmin):
    list_display = [
        "name",
        "pipedrive_company_id",
        "domain",
        "status",
        "connection_status",
        "realm",
        "failed_jobs",
        "created_at",
    ]
    list_filter = ["status", ConnectionStateFilter, FailedJobsFilter, "invoice_visibility", "created_at"]
    search_fields = ["name"]  # the real search is get_search_results
    search_help_text = _(
        "Pipedrive company id or domain, QuickBooks realm id, invoice id or number, deal id, customer name, user email"
    )
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline, FieldMappingInline]
    change_form_template = "admin/tenants/company/change_form.html"
    support_actions = ("token_refresh", "resync", "retry_invoice", "mark_needs_reconnect", "disconnect")
    support_action_expand = {
        "token_refresh": _company_live_connections,
        "resync": _company_live_connections,
        "mark_needs_reconnect": _company_live_connections,
        "disconnect": _company_live_connections,
        "retry_invoice": _company_jobs,
    }

    def get_queryset(self, request):
        from integration.support import JOB_STATES

        jobs = (
            Invoice.all_companies.filter(company=OuterRef("pk"), state__in=JOB_STATES)
            .order_by()
            .values("company")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                live_status=_live_connection("status"),
                live_realm=_live_connection("realm_id"),
                job_count=Subquery(jobs[:1]),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(company_search_ids(search_term)), False

    @admin.display(description=_("QuickBooks"), ordering="live_status")
    def connection_status(self, obj):
        return dict(QuickBooksConnection.Status.choices).get(obj.live_status, "-")

    @admin.display(description=_("Realm"), ordering="live_realm")
    def realm(self, obj):
        return obj.live_realm or "-"

    @admin.display(description=_("Failed jobs"), ordering="job_count")
    def failed_jobs(self, obj):
        if not obj.job_count:
            return 0
        return changelist_link(Invoice, obj.job_count, company__id__exact=obj.pk, job="attention")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from integration.support import company_overview, may_run

        company = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if company is not None:
            extra["support"] = company_overview(company=company)
            extra["support_can"] = {
                name: may_run(user=request.user, action=name)
                for name in ("token_refresh", "resync", "retry_invoice", "mark_needs_reconnect", "disconnect")
            }
        return super().change_view(request, object_id, form_url, extra_context=extra)


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
    fields = [
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
    ]
    readonly_fields = fields

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
        fields = ["user", "type", "created_at", "last_used_at"]
        readonly_fields = fields

        def has_delete_permission(self, request, obj=None):
            return request.user.is_superuser  # removing a lost authenticator is a superuser's job

    @admin.register(SocialApp)
    class SocialAppAdmin(ReadOnlyAdmin):
        list_display = ["name", "provider", "client_id"]
        fields = ["name", "provider", "provider_id", "client_id"]
        readonly_fields = fields


_tighten_allauth()
