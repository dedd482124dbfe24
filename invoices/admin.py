"""Support console for invoices: find one by anything the customer knows, see why it is stuck,
retry it. Invoice rows are written by the sync and the create flow only, so they are read-only."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import admin
from django.db.models import DecimalField, Q, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from integration.quickbooks.models import QuickBooksConnection
from invoices import company_admin, event_text  # noqa: F401  (company_admin registers the company page)
from invoices.models import CustomerLink, Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine, ProductLink
from tenants.admin import admin_link
from tenants.admin_base import ReadOnlyAdmin


class JobFilter(admin.SimpleListFilter):
    title = _("job")
    parameter_name = "job"

    def lookups(self, request, model_admin):
        return [("attention", _("Pending or failed")), ("retrying", _("Pending with an error"))]

    def queryset(self, request, queryset):
        if self.value() == "attention":
            return queryset.filter(state__in=[Invoice.State.PENDING, Invoice.State.FAILED])
        if self.value() == "retrying":
            return queryset.filter(state=Invoice.State.PENDING).exclude(last_error="")
        return queryset


class ConnectionStatusFilter(admin.SimpleListFilter):
    title = _("connection state")
    parameter_name = "connection_status"

    def lookups(self, request, model_admin):
        return QuickBooksConnection.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(connection__status=self.value())
        return queryset


# -- amounts shown as stored -------------------------------------------------------------------
# A value beyond its column (SQLite keeps whatever it was given) makes Django's decimal converter
# raise when the row is loaded, and the page answers 500. The admin never loads these columns as
# Decimals: it reads them as text and shows them read-only, as stored (issue 17).


def _decimals(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, DecimalField)]


def _as_text(queryset, prefix: str = ""):
    """Defer the model's decimal columns and annotate each as text (`<name>_text`)."""
    names = _decimals(queryset.model)
    return queryset.defer(*names).annotate(**{f"{prefix}{n}_text": Cast(n, output_field=TextField()) for n in names})


def _shown(text, field: DecimalField) -> str:
    """The stored value: as a decimal when it fits the column, else the raw text, marked."""
    if text is None:
        return "-"
    try:
        number = Decimal(str(text))
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite() and number.adjusted() < field.max_digits - field.decimal_places:
        return str(number.quantize(Decimal(1).scaleb(-field.decimal_places)))
    return _("%(value)s (beyond the column: fix it in QuickBooks or by support)") % {"value": text}


def stored_decimals(model):
    """Give the admin a read-only `<name>_stored` display for each decimal column of `model`."""

    def decorate(cls):
        for name in _decimals(model):
            field = model._meta.get_field(name)

            def show(self, obj, name=name, field=field):
                return _shown(getattr(obj, f"{name}_text", None), field)

            setattr(cls, f"{name}_stored", admin.display(description=field.verbose_name)(show))
        return cls

    return decorate


def _stored(names: list[str], model) -> tuple[str, ...]:
    decimals = set(_decimals(model))
    return tuple(f"{n}_stored" if n in decimals else n for n in names)


@stored_decimals(InvoiceLine)
class LineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = readonly_fields = _stored(
        [
            "position",
            "description",
            "pipedrive_product_id",
            "qbo_item_id",
            "quantity",
            "unit_price",
            "amount",
            "tax_code",
        ],
        InvoiceLine,
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return _as_text(super().get_queryset(request))


class DealInline(admin.TabularInline):
    model = InvoiceDeal
    extra = 0
    fields = readonly_fields = ("deal_id", "linked_by", "linked_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("linked_by__user")


class EventLine:
    @admin.display(description=_("Message"))
    def line(self, event: InvoiceEvent) -> str:
        """The event's line in the reader's language (`message` holds it in English, for the search)."""
        return event_text.render(event.kind, event.message, event.data)


class EventInline(EventLine, admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    fields = readonly_fields = ("created_at", "kind", "actor", "line", "data")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor__user")


def invoice_search(term: str) -> Q:
    """QBO invoice id or number, deal id, customer name or email, Pipedrive company id or domain,
    realm id. Companies and connections are matched in their own (small) tables, not by joins."""
    from tenants.models import Company

    if term.isdigit():  # ids and numbers: exact matches only
        number = int(term)
        return (
            Q(doc_number=term)
            | Q(qbo_id=term)
            | Q(connection_id__in=QuickBooksConnection.all_companies.filter(realm_id=term).values("pk"))
            | Q(company_id__in=Company.objects.filter(pipedrive_company_id=number).values("pk"))
            | Q(pk__in=InvoiceDeal.all_companies.filter(deal_id=number).values("invoice_id"))
        )
    return (
        Q(doc_number=term)
        | Q(customer_name__icontains=term)
        | Q(bill_email__iexact=term)
        | Q(company_id__in=Company.objects.filter(domain__iexact=term).values("pk"))
    )


@admin.register(Invoice)
@stored_decimals(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "qbo_id",
        "company",
        "realm",
        "customer_name",
        "total_stored",
        "currency",
        "status",
        "state",
        "attempts",
        "txn_date",
        "last_error",
    ]
    list_filter = [JobFilter, "state", "status", ConnectionStatusFilter, "sent", "txn_date", "created_at"]
    list_select_related = ["company", "connection"]
    search_fields = ["doc_number"]  # the real search is get_search_results
    search_help_text = _(
        "QuickBooks invoice id or number, deal id, customer name or email, Pipedrive company id or domain, realm id"
    )
    # Newest first by primary key: an index scan. The model's (-txn_date, -id) order would sort
    # every row; date_hierarchy and a distinct-values filter would scan them all (100k: +0.5 s).
    ordering = ["-id"]
    show_full_result_count = False
    list_per_page = 100
    inlines = [LineInline, DealInline, EventInline]
    exclude = ["payload"]
    readonly_fields = ["company_link", "connection_link", "draft"]
    support_actions = ("retry_invoice",)
    change_form_template = "admin/support/change_form.html"  # the action buttons

    def get_queryset(self, request):
        # The list never shows the draft payload; do not load it for 100 rows.
        return _as_text(super().get_queryset(request).defer("payload", "private_note"))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(invoice_search(term)), False

    def get_fields(self, request, obj=None):
        concrete = [
            f.name for f in Invoice._meta.concrete_fields if f.name not in {"id", "payload", "company", "connection"}
        ]
        return ["company_link", "connection_link", *_stored(concrete, Invoice), "draft"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("Realm"), ordering="connection__realm_id")
    def realm(self, obj):
        return obj.connection.realm_id

    @admin.display(description=_("Company"))
    def company_link(self, obj):
        return admin_link(obj.company)

    @admin.display(description=_("QuickBooks connection"))
    def connection_link(self, obj):
        return admin_link(obj.connection)

    @admin.display(description=_("Submitted draft"))
    def draft(self, obj):
        import json

        from django.utils.html import format_html

        return (
            format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, default=str)[:20000]) if obj.payload else "-"
        )


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(EventLine, ReadOnlyAdmin):
    list_display = ["created_at", "invoice", "company", "kind", "actor", "line"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["invoice", "company", "actor__user"]
    search_fields = ["=invoice__qbo_id", "invoice__doc_number", "message", "=company__pipedrive_company_id"]
    show_full_result_count = False


@admin.register(InvoiceDeal)
class InvoiceDealAdmin(ReadOnlyAdmin):
    list_display = ["deal_id", "invoice", "company", "linked_by", "linked_at"]
    list_select_related = ["invoice", "company", "linked_by__user"]
    search_fields = ["=deal_id", "=invoice__qbo_id", "invoice__doc_number", "=company__pipedrive_company_id"]


@admin.register(InvoiceLine)
@stored_decimals(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdmin):
    list_display = _stored(
        ["invoice", "position", "description", "qbo_item_id", "quantity", "unit_price", "amount", "tax_code"],
        InvoiceLine,
    )
    list_select_related = ["invoice"]

    def get_queryset(self, request):
        # The invoice is shown by its number: its amounts (which could be as broken) are not loaded.
        queryset = super().get_queryset(request).select_related("invoice")
        return _as_text(queryset).defer(*(f"invoice__{n}" for n in _decimals(Invoice)))

    def get_fields(self, request, obj=None):
        return _stored([f.name for f in InvoiceLine._meta.concrete_fields if f.name != "id"], InvoiceLine)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    search_fields = ["=invoice__qbo_id", "invoice__doc_number", "=qbo_item_id", "description"]


@admin.register(CustomerLink)
class CustomerLinkAdmin(ReadOnlyAdmin):
    list_display = ["company", "entity", "pipedrive_id", "qbo_customer_id", "display_name", "updated_at"]
    list_filter = ["entity"]
    list_select_related = ["company"]
    search_fields = ["=pipedrive_id", "=qbo_customer_id", "display_name", "=company__pipedrive_company_id"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser  # unlinking a wrong remembered customer is a fix superusers make


@admin.register(ProductLink)
class ProductLinkAdmin(ReadOnlyAdmin):
    list_display = ["company", "pipedrive_product_id", "qbo_item_id", "item_name", "updated_at"]
    list_select_related = ["company"]
    search_fields = ["=pipedrive_product_id", "=qbo_item_id", "item_name", "=company__pipedrive_company_id"]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
