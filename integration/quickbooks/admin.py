"""Support view of QuickBooks connections: status, owner, token expiries and actions, never a token."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.models import ApiCall
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from tenants.admin import admin_link, changelist_link
from tenants.admin_base import ReadOnlyAdmin

TOKEN_FIELDS = ("access_token", "refresh_token")


@admin.register(QuickBooksConnection)
class QuickBooksConnectionAdmin(ReadOnlyAdmin):
    list_display = [
        "company",
        "realm_id",
        "company_name",
        "status",
        "owner",
        "access_expires_at",
        "refresh_expires_at",
        "refresh_hard_expires_at",
        "last_sync_at",
    ]
    list_filter = ["status", "tax_model", "multicurrency_enabled", "connected_at", "refresh_expires_at"]
    list_select_related = ["company", "owner__user"]
    search_fields = [
        "=realm_id",
        "company_name",
        "company__name",
        "company__domain",
        "=company__pipedrive_company_id",
        "=link_id",
        "owner__user__email",
    ]
    exclude = TOKEN_FIELDS
    fields = readonly_fields = (
        "links",
        *(
            field.name
            for field in QuickBooksConnection._meta.get_fields()
            if getattr(field, "concrete", False) and field.name not in TOKEN_FIELDS and field.name != "id"
        ),
    )
    support_actions = ("token_refresh", "resync", "mark_needs_reconnect", "disconnect")
    change_form_template = "admin/support/change_form.html"  # the action buttons

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*TOKEN_FIELDS)

    @admin.display(description=_("Support"))
    def links(self, obj):
        from django.utils.html import format_html

        return format_html(
            "{} · {} · {}",
            admin_link(obj.company, _("company page")),
            changelist_link("invoices.Invoice", _("invoices"), connection__id__exact=obj.pk),
            changelist_link(ApiCall, _("API calls"), company__id__exact=obj.company_id, service="quickbooks"),
        )


@admin.register(OAuthState)
class OAuthStateAdmin(ReadOnlyAdmin):
    """Connect attempts: who started one and whether it was used (the state itself is not kept)."""

    list_display = ["company", "user", "created_at", "expires_at", "used_at"]
    list_select_related = ["company", "user"]
    search_fields = ["user__email", "=company__pipedrive_company_id", "company__name"]
    fields = readonly_fields = ("company", "user", "created_at", "expires_at", "used_at")
