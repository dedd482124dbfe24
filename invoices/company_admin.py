"""The support console's company page: the company with its people, QuickBooks connection, invoice
jobs and support actions. Registered here, above `tenants`, because it reads invoices and connections."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceDeal
from invoices.support import JOB_STATES, company_overview
from tenants.admin import FieldMappingInline, MembershipInline, changelist_link
from tenants.admin_base import SupportModelAdmin
from tenants.models import Company, Membership
from tenants.support import may_run


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
        company = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if company is not None:
            extra["support"] = company_overview(company=company)
            extra["support_can"] = {
                name: may_run(user=request.user, action=name)
                for name in ("token_refresh", "resync", "retry_invoice", "mark_needs_reconnect", "disconnect")
            }
        return super().change_view(request, object_id, form_url, extra_context=extra)
