"""JSON shapes of the panel API."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from invoices import access, event_text, lifecycle, validation
from invoices.models import Invoice, InvoiceEvent
from invoices.payments import payments_of
from invoices.selectors import HISTORY_LIMIT
from invoices.status import LABELS, Status, effective_status, pipedrive_status
from invoices.sync import company_today

CENT = Decimal("0.01")


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceEvent
        fields = ["kind", "message", "actor", "created_at"]

    def get_actor(self, event) -> str:
        if event.actor_id is None:
            return ""
        return event.actor.user.display_name


class PaymentSerializer(serializers.Serializer):
    """A QuickBooks payment applied to the invoice (money loop); documents `payments` in the schema."""

    date = serializers.DateField(allow_null=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    credit_applied = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    method = serializers.CharField()
    reference = serializers.CharField()


class InvoiceSerializer(serializers.ModelSerializer):
    payments = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    pipedrive_status = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    quickbooks_url = serializers.SerializerMethodField()
    deal_ids = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "qbo_id",
            "doc_number",
            "state",
            "status",
            "status_label",
            "pipedrive_status",
            "customer_name",
            "customer_qbo_id",
            "bill_email",
            "currency",
            "total",
            "balance",
            "tax_total",
            "txn_date",
            "due_date",
            "sent",
            "last_error",
            "actions",
            "quickbooks_url",
            "deal_ids",
            "history",
            "payments",
        ]

    def to_representation(self, invoice) -> dict:
        """The same keys and formats as DRF's per-field rendering of the declared fields (which
        document the schema; a test compares the two), built directly: list endpoints render many
        rows and DRF's field machinery was most of their time."""

        def money(value) -> str:
            return str(Decimal(value).quantize(CENT))

        history = self.get_history(invoice)
        return {
            "id": invoice.id,
            "qbo_id": invoice.qbo_id,
            "doc_number": invoice.doc_number,
            "state": invoice.state,
            "status": self.get_status(invoice),
            "status_label": self.get_status_label(invoice),
            "pipedrive_status": self.get_pipedrive_status(invoice),
            "customer_name": invoice.customer_name,
            "customer_qbo_id": invoice.customer_qbo_id,
            "bill_email": invoice.bill_email,
            "currency": invoice.currency,
            "total": money(invoice.total),
            "balance": money(invoice.balance),
            "tax_total": money(invoice.tax_total),
            "txn_date": invoice.txn_date.isoformat() if invoice.txn_date else None,
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "sent": invoice.sent,
            "last_error": event_text.shown_error(state=invoice.state, last_error=invoice.last_error, history=history),
            "actions": self.get_actions(invoice),
            "quickbooks_url": self.get_quickbooks_url(invoice),
            "deal_ids": self.get_deal_ids(invoice),
            "history": history,
            "payments": self.get_payments(invoice),
        }

    def _status(self, invoice) -> Status:
        today = self.context.get("today") or company_today(invoice.connection)
        return effective_status(status=invoice.status, due_date=invoice.due_date, today=today)

    @extend_schema_field(serializers.ChoiceField(choices=[s.value for s in Status]))
    def get_status(self, invoice) -> str:
        return self._status(invoice).value

    def get_status_label(self, invoice) -> str:
        return str(LABELS[self._status(invoice)])

    def get_pipedrive_status(self, invoice) -> dict:
        mapped = pipedrive_status(self._status(invoice), sent=invoice.sent)
        return {"code": mapped.code, "label": mapped.label}

    def get_actions(self, invoice) -> list[str]:
        return access.actions_for(invoice=invoice, membership=self.context["membership"])

    def get_quickbooks_url(self, invoice) -> str:
        return lifecycle.invoice_deep_link(invoice=invoice) if invoice.qbo_id and invoice.status != "deleted" else ""

    def get_deal_ids(self, invoice) -> list[int]:
        return sorted(link.deal_id for link in invoice.deal_links.all())

    @extend_schema_field(PaymentSerializer(many=True))
    def get_payments(self, invoice) -> list[dict]:
        # Money loop: date, amount, method, reference and credit applied of each QuickBooks payment.
        return payments_of(invoice)

    @extend_schema_field(EventSerializer(many=True))
    def get_history(self, invoice) -> list[dict]:
        # Plain dicts: a nested serializer per invoice costs more than the rest of the row.
        return [
            {
                "kind": event.kind,
                "message": event_text.render(event.kind, event.message, event.data),
                "actor": (event.actor.user.display_name) if event.actor_id else "",
                "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            }
            for event in list(invoice.events.all())[:HISTORY_LIMIT]
        ]


@extend_schema_field({"type": "object", "additionalProperties": True})
class DraftField(serializers.JSONField):
    """A JSON object (documented as one; validate_draft refuses anything else)."""


class DraftInputSerializer(serializers.Serializer):
    """The draft as the modal submits it (see invoices.drafts.Draft)."""

    draft = DraftField(help_text="The draft as GET deals/{id}/draft returned it, as edited in the modal.")
    idempotency_key = serializers.UUIDField(required=False)

    def validate_draft(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("The draft must be an object."))
        return value


class SendSerializer(serializers.Serializer):
    to = serializers.EmailField(required=False, allow_blank=True)
    # One more recipient, as QuickBooks' BillEmailCc (one address, ≤ 100 characters).
    cc = serializers.EmailField(required=False, allow_blank=True, max_length=100)


class RangeSerializer(serializers.Serializer):
    deal_id = serializers.IntegerField(min_value=1, max_value=validation.MAX_BIGINT)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    refresh = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "The end of the range is before its start."})
        return attrs


class ProductLinkSerializer(serializers.Serializer):
    # QBO ids are positive integers written in decimal ("0" and "007" name no item).
    qbo_item_id = serializers.RegexField(validation.QBO_ID.pattern, max_length=validation.MAX_QBO_ID)
