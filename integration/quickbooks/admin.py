"""Support view of QuickBooks connections: status and company cache, never the tokens."""

from django.contrib import admin

from integration.quickbooks.models import QuickBooksConnection

TOKEN_FIELDS = ("access_token", "refresh_token")


@admin.register(QuickBooksConnection)
class QuickBooksConnectionAdmin(admin.ModelAdmin):
    list_display = ["company", "realm_id", "company_name", "status", "owner", "connected_at", "last_sync_at"]
    list_filter = ["status", "tax_model", "multicurrency_enabled"]
    list_select_related = ["company", "owner__user"]
    search_fields = ["=realm_id", "company_name", "company__name", "=company__pipedrive_company_id", "=link_id"]
    exclude = TOKEN_FIELDS
    readonly_fields = [
        field.name
        for field in QuickBooksConnection._meta.get_fields()
        if getattr(field, "concrete", False) and field.name not in TOKEN_FIELDS and field.name != "id"
    ]

    def has_add_permission(self, request):
        # Connections are made by the OAuth flow only.
        return False
