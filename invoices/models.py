"""Our record of what was invoiced: invoices, their lines, deal links, history, and remembered
links between Pipedrive contacts/products and QuickBooks customers/items."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoices.status import Status
from tenants.fields import EncryptedTextField
from tenants.models import Membership, TenantModel


class Invoice(TenantModel):
    """A QBO invoice as we last saw it. Created as an intent (state pending) before QBO is called,
    so a crash or outage never loses it; `request_id` makes the QBO create idempotent."""

    class State(models.TextChoices):
        PENDING = "pending", _("Being created in QuickBooks")
        CREATED = "created", _("In QuickBooks")
        FAILED = "failed", _("Could not be created")

    Status = Status  # invoices.status.Status: the one status enum

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.PROTECT, related_name="+")
    request_id = models.UUIDField(default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    qbo_id = models.CharField(max_length=32, blank=True, default="")
    doc_number = models.CharField(max_length=21, blank=True, default="")
    customer_qbo_id = models.CharField(max_length=32, blank=True, default="")
    customer_name = models.CharField(max_length=500, blank=True, default="")
    bill_email = models.CharField(max_length=100, blank=True, default="")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    txn_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    sent = models.BooleanField(default=False)
    private_note = models.CharField(max_length=4000, blank=True, default="")
    sync_token = models.CharField(max_length=16, blank=True, default="")
    qbo_updated_at = models.DateTimeField(null=True, blank=True)
    # The draft as submitted, so a pending create can be retried exactly.
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # While a worker is talking to QBO about this pending invoice (no DB lock is held meanwhile).
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    created_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Stamped by database triggers (migration 0003) from a counter on every write to this invoice,
    # its deal links or its events, in the same transaction, whatever the code path (save, update(),
    # bulk, cascade). The panel's ETags are built from it; never set it from Python.
    panel_version = models.BigIntegerField(default=0, editable=False)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["connection", "request_id"], name="invoice_unique_request_id"),
            models.UniqueConstraint(
                fields=["connection", "qbo_id"], condition=~Q(qbo_id=""), name="invoice_unique_qbo_id"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "customer_qbo_id", "txn_date"], name="invoice_customer_date"),
            models.Index(fields=["state", "next_attempt_at"], name="invoice_pending_retry"),
        ]
        ordering = ["-txn_date", "-id"]

    def __str__(self) -> str:
        return f"Invoice {self.doc_number or self.qbo_id or self.request_id}"


class InvoiceLine(TenantModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=4000, blank=True, default="")
    pipedrive_product_id = models.BigIntegerField(null=True, blank=True)
    qbo_item_id = models.CharField(max_length=32)
    quantity = models.DecimalField(max_digits=18, decimal_places=7)
    unit_price = models.DecimalField(max_digits=18, decimal_places=7)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    tax_code = models.CharField(max_length=32, blank=True, default="")

    class Meta(TenantModel.Meta):
        ordering = ["invoice_id", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoiceline_unique_position")]

    def __str__(self) -> str:
        if "quantity" in self.get_deferred_fields():
            return self.description  # the admin reads amounts as text (invoices.admin): do not load them
        return f"{self.description} × {self.quantity}"


class InvoiceDeal(TenantModel):
    """An invoice shown on a Pipedrive deal (many-to-many: link and unlink)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="deal_links")
    deal_id = models.BigIntegerField(_("Pipedrive deal id"))
    linked_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["invoice", "deal_id"], name="invoicedeal_unique")]
        indexes = [models.Index(fields=["company", "deal_id"], name="invoicedeal_company_deal")]

    def __str__(self) -> str:
        return f"{self.invoice_id} on deal {self.deal_id}"


class InvoiceEvent(TenantModel):
    """The invoice's history, shown in the sidebar."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CREATE_PENDING = "create_pending", _("Waiting for QuickBooks")
        CREATE_FAILED = "create_failed", _("Creation failed")
        EMAILED = "emailed", _("Sent by email")
        STATUS_CHANGED = "status_changed", _("Status changed")
        VOIDED = "voided", _("Voided")
        DELETED = "deleted", _("Deleted")
        LINKED = "linked", _("Linked to deal")
        UNLINKED = "unlinked", _("Unlinked from deal")
        SYNCED = "synced", _("Updated from QuickBooks")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.invoice_id}"


class CustomerLink(TenantModel):
    """A Pipedrive organization or person remembered as a QBO customer, per connection."""

    class Entity(models.TextChoices):
        ORGANIZATION = "organization", _("Organization")
        PERSON = "person", _("Person")

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    pipedrive_id = models.BigIntegerField()
    qbo_customer_id = models.CharField(max_length=32)
    display_name = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity", "pipedrive_id"], name="customerlink_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.pipedrive_id} → customer {self.qbo_customer_id}"


class ProductLink(TenantModel):
    """A Pipedrive product remembered as a QBO item, per connection."""

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    pipedrive_product_id = models.BigIntegerField()
    qbo_item_id = models.CharField(max_length=32)
    item_name = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["connection", "pipedrive_product_id"], name="productlink_unique")
        ]

    def __str__(self) -> str:
        return f"product {self.pipedrive_product_id} → item {self.qbo_item_id}"


class TaxCodeMapping(TenantModel):
    """Which QBO TaxCode a Pipedrive tax rate (percent) becomes, per connection (non-US companies only:
    US companies use TAX/NON and let QuickBooks compute the rate)."""

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)
    qbo_tax_code_id = models.CharField(max_length=32)
    tax_code_name = models.CharField(max_length=100, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["connection", "tax_rate"], name="taxcodemapping_unique_rate")]
        ordering = ["tax_rate"]

    def __str__(self) -> str:
        return f"{self.tax_rate} % → tax code {self.qbo_tax_code_id}"


class DealFigureFields(TenantModel):
    """The deal fields the app owns in Pipedrive (Invoiced, Paid, Outstanding, Invoice status), made
    once per company, and the company's on/off setting for keeping them current."""

    enabled = models.BooleanField(_("Keep invoice figures on deals"), default=True)
    invoiced_key = models.CharField(max_length=40, blank=True, default="")
    paid_key = models.CharField(max_length=40, blank=True, default="")
    outstanding_key = models.CharField(max_length=40, blank=True, default="")
    status_key = models.CharField(max_length=40, blank=True, default="")
    # Our status value -> the Pipedrive option id of the "Invoice status" enum field.
    status_options = models.JSONField(default=dict, blank=True)
    # Fields the user deleted in Pipedrive: never made again (we remove nothing and recreate nothing).
    dismissed = models.JSONField(default=list, blank=True)
    # Money loop settings beyond the figures: what happens when a deal is won.
    won_rule = models.CharField(
        _("When a deal is won"),
        max_length=10,
        choices=[("off", _("Nothing")), ("draft", _("Prepare a draft")), ("create", _("Create the invoice"))],
        default="off",
    )
    # Our app webhook in Pipedrive (deal changes) and the Basic credentials it calls us with.
    webhook_id = models.BigIntegerField(null=True, blank=True)
    webhook_user = models.CharField(max_length=64, blank=True, default="", db_index=True)
    webhook_password = EncryptedTextField(blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["company"], name="dealfigurefields_one_per_company")]

    def __str__(self) -> str:
        return f"Deal figure fields of {self.company_id}"


class DealFiguresOutbox(TenantModel):
    """One row per deal whose figures must be written to Pipedrive (coalesced: many invoice events,
    one row). `generation` grows on every mark, so a write only clears the row if nothing changed
    while it was in flight; the row stays dirty through outages until a write succeeds."""

    deal_id = models.BigIntegerField(_("Pipedrive deal id"))
    dirty = models.BooleanField(default=True)
    generation = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    written = models.JSONField(default=dict, blank=True)  # the custom_fields last written
    written_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["company", "deal_id"], name="dealfiguresoutbox_unique")]
        indexes = [models.Index(fields=["dirty", "next_attempt_at"], name="dealfiguresoutbox_due")]

    def __str__(self) -> str:
        return f"figures of deal {self.deal_id} ({'dirty' if self.dirty else 'clean'})"


class InvoicePayment(TenantModel):
    """What one QuickBooks Payment applied to one of our invoices: cash received and credit applied
    (a credit memo linked on the same Payment), as last read from QuickBooks."""

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    payment_qbo_id = models.CharField(max_length=32)
    txn_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)  # cash applied to this invoice
    credit_applied = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True, default="")
    method = models.CharField(max_length=100, blank=True, default="")  # PaymentMethodRef name (or id)
    reference = models.CharField(max_length=100, blank=True, default="")  # PaymentRefNum
    # Money loop: the credit memos whose credit this payment applied (their numbers, else ids), from
    # the Payment's CreditMemo lines and our copies of the credit memos (CreditMemo below).
    credit_memos = models.CharField(max_length=200, blank=True, default="")
    qbo_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["invoice", "payment_qbo_id"], name="invoicepayment_unique"),
        ]
        indexes = [models.Index(fields=["connection", "payment_qbo_id"], name="invoicepayment_payment")]
        ordering = ["txn_date", "id"]

    def __str__(self) -> str:
        return f"payment {self.payment_qbo_id} on {self.invoice_id}"


class CreditMemo(TenantModel):
    """A QuickBooks credit memo of a customer, as last read (webhook or change data capture): what
    the credit memo is (number, date, total) and the credit it still has to apply."""

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    qbo_id = models.CharField(max_length=32)
    customer_qbo_id = models.CharField(max_length=32, blank=True, default="")
    doc_number = models.CharField(max_length=32, blank=True, default="")
    txn_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    remaining_credit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    qbo_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["connection", "qbo_id"], name="creditmemo_unique"),
        ]
        indexes = [models.Index(fields=["connection", "customer_qbo_id"], name="creditmemo_customer")]

    def __str__(self) -> str:
        return f"credit memo {self.doc_number or self.qbo_id}"


class CustomerBalance(TenantModel):
    """A QuickBooks customer's open balance and unapplied credit, read when the customer, one of its
    payments or credit memos changes (webhook, change data capture, the contact view's refresh), so
    the panel's contact view reads it with no call to QuickBooks."""

    connection = models.ForeignKey("quickbooks.QuickBooksConnection", on_delete=models.CASCADE, related_name="+")
    customer_qbo_id = models.CharField(max_length=32)
    open_balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    unapplied_credit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True, default="")
    read_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["connection", "customer_qbo_id"], name="customerbalance_unique"),
        ]

    def __str__(self) -> str:
        return f"balance of customer {self.customer_qbo_id}"


class WonDeal(TenantModel):
    """A deal that moved to Won while the company's rule was on: what the rule did, exactly once.

    One row per deal: the automatic invoice's idempotency key is derived from company and deal, so a
    duplicate delivery or a deal won, reopened and won again never makes a second invoice."""

    class State(models.TextChoices):
        PROBLEMS = "problems", _("Won, not invoiced")
        DRAFT_READY = "draft_ready", _("Won: invoice draft ready")
        INVOICED = "invoiced", _("Won and invoiced")

    deal_id = models.BigIntegerField(_("Pipedrive deal id"))
    idempotency_key = models.UUIDField()
    state = models.CharField(max_length=20, choices=State.choices)
    problems = models.JSONField(default=list, blank=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note_id = models.BigIntegerField(null=True, blank=True)  # the note left on the deal about the problems
    won_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["company", "deal_id"], name="wondeal_unique")]

    def __str__(self) -> str:
        return f"won deal {self.deal_id} ({self.state})"


class DealNote(TenantModel):
    """A note to write on a Pipedrive deal for an invoice event (issue 13: the deal's changelog).
    Stored before it is sent, so a Pipedrive outage never loses it: a worker retries it."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        PAID = "paid", _("Paid")
        VOIDED = "voided", _("Voided")
        DELETED = "deleted", _("Deleted")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be written")
        WRITTEN = "written", _("Written")
        FAILED = "failed", _("Could not be written")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="deal_notes")
    deal_id = models.BigIntegerField(_("Pipedrive deal id"))
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    pipedrive_note_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["invoice", "deal_id", "kind"], name="dealnote_unique_per_event"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="dealnote_pending_retry")]

    def __str__(self) -> str:
        return f"{self.kind} note of {self.invoice_id} on deal {self.deal_id}"
