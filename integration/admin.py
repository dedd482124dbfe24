"""Support console: the outbound call log and the inbound webhook records."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integration.models import ApiCall, WebhookDelivery, WebhookEvent
from tenants.admin import admin_link, changelist_link
from tenants.admin_base import ReadOnlyAdmin


class StatusClassFilter(admin.SimpleListFilter):
    title = _("HTTP status")
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [("2xx", "2xx"), ("4xx", "4xx"), ("429", "429 (throttled)"), ("5xx", "5xx"), ("none", _("no answer"))]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(status__isnull=True)
        if value == "429":
            return queryset.filter(status=429)
        if value in {"2xx", "4xx", "5xx"}:
            low = int(value[0]) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "company",
        "service",
        "method",
        "path",
        "status",
        "duration",
        "intuit_tid",
        "error_code",
        "error_message",
    ]
    list_filter = ["service", StatusClassFilter, "method", "created_at"]
    list_select_related = ["company"]
    search_fields = ["=intuit_tid", "path", "error_code", "=company__pipedrive_company_id", "company__name"]
    show_full_result_count = False  # the log is large; "N of M" would count it on every page

    @admin.display(description=_("Duration"), ordering="duration_ms")
    def duration(self, obj):
        return f"{obj.duration_ms:.0f} ms"


class WebhookEventInline(admin.TabularInline):
    model = WebhookEvent
    extra = 0
    fields = readonly_fields = (
        "event_id",
        "realm_id",
        "company",
        "entity",
        "entity_id",
        "operation",
        "occurred_at",
        "processed_at",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "service", "received_at", "processed_at", "attempts", "event_count", "last_error"]
    list_filter = ["service", "received_at", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["last_error"]  # plus realm, entity and event ids: see get_search_results
    search_help_text = _("Realm id, QuickBooks entity id, event id, or text of the last error")
    fields = readonly_fields = (
        "service",
        "content_type",
        "received_at",
        "processed_at",
        "attempts",
        "last_error",
        "payload",
    )
    inlines = [WebhookEventInline]
    support_actions = ("webhook_redeliver",)
    change_form_template = "admin/support/change_form.html"  # the action buttons
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body").annotate(event_count=Count("events"))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # A subquery, not a join: the event count annotation stays right and rows stay distinct.
        events = WebhookEvent.objects.filter(Q(realm_id=term) | Q(entity_id=term) | Q(event_id=term))
        return queryset.filter(Q(pk__in=events.values("delivery_id")) | Q(last_error__icontains=term)), False

    @admin.display(description=_("Events"), ordering="event_count")
    def event_count(self, obj):
        return obj.event_count

    @admin.display(description=_("Payload"))
    def payload(self, obj):
        # Intuit's webhook bodies carry realm and entity ids only; the signature header is not stored.
        raw = bytes(obj.body or b"")
        try:
            text = json.dumps(json.loads(raw), indent=2)
        except ValueError:
            text = raw.decode("utf-8", "replace")
        return format_html("<pre>{}</pre>", text[:20000])


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "delivery_link",
        "company",
        "realm_id",
        "entity",
        "entity_id",
        "operation",
        "occurred_at",
        "processed_at",
    ]
    list_filter = ["entity", "operation", ("processed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["company"]
    search_fields = ["=realm_id", "=entity_id", "=event_id", "=company__pipedrive_company_id", "company__name"]
    show_full_result_count = False

    @admin.display(description=_("Delivery"), ordering="delivery_id")
    def delivery_link(self, obj):
        return changelist_link(WebhookDelivery, f"#{obj.delivery_id}", id=obj.delivery_id) if obj.delivery_id else "-"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]


__all__ = ["admin_link"]
