"""The panel API: what our deal panel and create-invoice modal call inside Pipedrive.

Authenticated by the Pipedrive-signed JWT only (no cookies in the iframe). The company and the
member come from the verified token; everything else is looked up inside that company
(`invoices.panel_api.PanelApi`).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from integration.errors import IntegrationError
from integration.pipedrive import client as pipedrive_client
from integration.pipedrive import selectors as pipedrive_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices import create, create_queue, lifecycle, panel_reads, selectors
from invoices.deal_drafts import draft_from_deal
from invoices.drafts import priced
from invoices.http import pdf_response
from invoices.models import Invoice
from invoices.panel_api import ApiError, PanelApi
from invoices.serializers import (
    DraftInputSerializer,
    InvoiceSerializer,
    RangeSerializer,
    SendSerializer,
)
from tenants.models import FieldMapping


class DealInvoicesApi(PanelApi):
    """POST creates; a GET is answered by panel_reads.deal_invoices_endpoint without DRF's dispatch
    (invoices/urls.py) and documented here."""

    @panel_reads.read_schema(
        panel_reads.DealInvoices, summary="The deal's invoices, their history, and a summary per currency"
    )
    def get(self, request, deal_id: int):
        return panel_reads.deal_invoices(self, request, deal_id)

    @extend_schema(
        request=DraftInputSerializer,
        summary="Create an invoice from the (edited) draft",
        responses={201: InvoiceSerializer, 202: InvoiceSerializer},
    )
    def post(self, request, deal_id: int):
        connection = self.require_active()
        data = DraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data.get("idempotency_key"):
            raise ApiError(
                status_code=400,
                code="idempotency_key_required",
                message=_("Send an idempotency_key (a UUID) with every create."),
                fields={"idempotency_key": [_("This field is required.")]},
            )
        draft = self.draft_of(data, deal_id)
        installation = pipedrive_selectors.installation_for(company=self.company, membership=self.membership)
        if installation is None and pipedrive_selectors.installations_of_company(company=self.company).exists():
            # The deal cannot be checked with this member's own access (and no longer with an admin's).
            raise ApiError(
                status_code=409,
                code="not_installed",
                message=_(
                    "Install the app in Pipedrive for your own user: Pipedrive data is read with your own access."
                ),
            )
        # The money rule: the invoice bills the lines the user confirmed, at the total they saw.
        create.draft_as_confirmed(
            connection=connection,
            installation=installation,
            draft=draft,
            idempotency_key=str(data.validated_data["idempotency_key"]),
            confirmed_total=data.validated_data["draft"].get("total"),
        )
        invoice = create.invoice_create(
            connection=connection,
            draft=draft,
            actor=self.membership,
            idempotency_key=str(data.validated_data["idempotency_key"]),
        )
        if invoice.state == Invoice.State.CREATED:
            return Response(self.serialize(invoice), status=status.HTTP_201_CREATED)
        # Still being created (QuickBooks slow or away; a worker goes on): answered at once, never
        # waited for. The client polls the intent's URL, or is told by the panel's live reads.
        response = Response(self.serialize(invoice), status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("api:invoice-detail", kwargs={"invoice_id": invoice.pk})
        return response


class DealDraftApi(PanelApi):
    @extend_schema(
        summary="A draft invoice for the deal: mapped customer, lines, dates, suggestions",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, deal_id: int):
        connection = self.require_active()
        installation = pipedrive_selectors.installation_for(company=self.company, membership=self.membership)
        if installation is None:
            # Each user's own Pipedrive access reads deals (integration/pipedrive/README.md).
            raise ApiError(
                status_code=409,
                code="not_installed",
                message=_(
                    "Install the app in Pipedrive for your own user: Pipedrive data is read with your own access."
                ),
            )
        mapping, _created = FieldMapping.objects.get_or_create(company=self.company)
        draft = draft_from_deal(installation=installation, connection=connection, mapping=mapping, deal_id=deal_id)
        return Response(draft.as_dict())


class DealPreflightApi(PanelApi):
    @extend_schema(
        request=DraftInputSerializer,
        summary="Every problem with a draft, without creating anything",
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, deal_id: int):
        connection = self.require_active()
        data = DraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = self.draft_of(data, deal_id, limits=False)  # pre-flight reports the limits as problems
        problems = create.invoice_preflight(connection=connection, draft=draft)
        from invoices.duplicates import duplicate_warnings

        # The lines priced as confirmed, their total and its difference from the deal's value; and a
        # warning (not a problem) when the same deal was already invoiced with the same lines.
        return Response(
            {
                "ok": not problems,
                "problems": [p.as_dict() for p in problems],
                "warnings": duplicate_warnings(connection=connection, draft=draft),
                **priced(draft),
            }
        )


class DealRefreshApi(PanelApi):
    @extend_schema(
        request=None, summary="Re-read the deal's invoices from QuickBooks now", responses=OpenApiTypes.OBJECT
    )
    def post(self, request, deal_id: int):
        connection = self.require_active()
        invoices = list(selectors.invoices_of_deal(company=self.company, connection=connection, deal_id=deal_id))
        for pending in [i for i in invoices if i.state == Invoice.State.PENDING]:
            create_queue.invoice_submit(invoice_id=pending.pk)  # retry now what was waiting for QBO
        lifecycle.invoice_refresh(connection=connection, invoices=invoices)
        return DealInvoicesApi.get(self, request, deal_id)


class InvoiceDetailApi(PanelApi):
    @extend_schema(summary="One invoice with its history", responses=InvoiceSerializer)
    def get(self, request, invoice_id: int):
        return Response(self.serialize(self.invoice(invoice_id)))


class InvoiceActionApi(PanelApi):
    """POST /invoices/<id>/<action> for void, delete and send."""

    @extend_schema(
        request=SendSerializer,
        summary="Void, delete or send an invoice",
        responses=InvoiceSerializer,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["void", "delete", "send"])],
    )
    def post(self, request, invoice_id: int, action: str):
        self.require_active()
        invoice = self.invoice(invoice_id)
        if action == "void":
            lifecycle.invoice_void(invoice=invoice, actor=self.membership)
        elif action == "delete":
            lifecycle.invoice_delete(invoice=invoice, actor=self.membership)
        elif action == "send":
            data = SendSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            lifecycle.invoice_send(
                invoice=invoice,
                actor=self.membership,
                to=data.validated_data.get("to", ""),
                cc=data.validated_data.get("cc", ""),
            )
        else:
            raise exceptions.NotFound()
        return Response(self.serialize(self.invoice(invoice_id)))


class InvoicePdfApi(PanelApi):
    @extend_schema(summary="The invoice PDF, streamed from QuickBooks", responses={(200, "application/pdf"): bytes})
    def get(self, request, invoice_id: int):
        self.require_active()
        invoice = self.invoice(invoice_id)
        return pdf_response(invoice=invoice, pdf=lifecycle.invoice_pdf(invoice=invoice, actor=self.membership))


class InvoiceDealLinkApi(PanelApi):
    @extend_schema(request=None, summary="Show this invoice on a deal", responses=InvoiceSerializer)
    def put(self, request, invoice_id: int, deal_id: int):
        self.require_viewer()
        invoice = self.invoice(invoice_id)
        self._require_deal_in_pipedrive(deal_id)
        lifecycle.invoice_link_deal(invoice=invoice, deal_id=deal_id, actor=self.membership)
        return Response(self.serialize(self.invoice(invoice_id)))

    def _require_deal_in_pipedrive(self, deal_id: int) -> None:
        """A link names a deal Pipedrive knows and this user can see (404 otherwise)."""
        installation = pipedrive_selectors.installation_for(company=self.company, membership=self.membership)
        if installation is None:
            raise ApiError(status_code=409, code="not_installed", message=_("Reinstall the app in Pipedrive."))
        pipedrive_client.deal_get(installation=installation, deal_id=deal_id)  # NotFound → 404

    @extend_schema(request=None, summary="Stop showing this invoice on a deal", responses=InvoiceSerializer)
    def delete(self, request, invoice_id: int, deal_id: int):
        self.require_viewer()
        invoice = self.invoice(invoice_id)
        lifecycle.invoice_unlink_deal(invoice=invoice, deal_id=deal_id, actor=self.membership)
        return Response(self.serialize(self.invoice(invoice_id)))


class ContactInvoicesApi(PanelApi):
    """All invoices of the deal's QBO customer in a date range, made here or in QuickBooks. A plain
    read is answered by panel_reads.contact_invoices_endpoint without DRF's dispatch
    (invoices/urls.py); this view answers a `refresh` or a deal whose customer Pipedrive must name."""

    def _customer(self, deal_id: int, connection: QuickBooksConnection) -> str:
        link = (
            Invoice.objects.filter(connection=connection, deal_links__deal_id=deal_id)
            .exclude(customer_qbo_id="")
            .values_list("customer_qbo_id", flat=True)
            .first()
        )
        if not link:
            # No invoice of ours on this deal (Pipedrive's own invoice tab sends no deal): its contact.
            link = self._contact_customer(deal_id, connection)
        if not link:
            raise ApiError(
                status_code=404,
                code="no_customer",
                message=_("This deal has no QuickBooks customer yet: create its first invoice."),
            )
        return link

    def _contact_customer(self, deal_id: int, connection: QuickBooksConnection) -> str:
        from invoices.deal_drafts import deal_customer_id

        installation = pipedrive_selectors.installation_for(company=self.company, membership=self.membership)
        if installation is None:
            return ""
        mapping, _created = FieldMapping.objects.get_or_create(company=self.company)
        try:
            return deal_customer_id(installation=installation, connection=connection, mapping=mapping, deal_id=deal_id)
        except IntegrationError:
            return ""  # Pipedrive or QuickBooks unavailable: the panel says there is no customer yet

    @panel_reads.read_schema(
        panel_reads.ContactInvoices,
        summary="Invoices of the deal's contact in a date range",
        parameters=[RangeSerializer],
    )
    def get(self, request):
        connection = self.require_viewer()
        query = RangeSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customer = self._customer(query.validated_data["deal_id"], connection)
        if query.validated_data.get("refresh"):
            # Pull this customer's invoices from QBO for the range, including ones typed into QuickBooks.
            lifecycle.customer_invoices_pull(
                connection=connection,
                customer_qbo_id=customer,
                date_from=query.validated_data.get("date_from"),
                date_to=query.validated_data.get("date_to"),
            )
        return panel_reads.contact_invoices(
            self,
            request,
            deal_id=query.validated_data["deal_id"],
            customer_qbo_id=customer,
            date_from=query.validated_data.get("date_from"),
            date_to=query.validated_data.get("date_to"),
        )


class ConnectionDisconnectApi(PanelApi):
    """The panel's "…" menu: disconnect QuickBooks (the connection owner or an admin)."""

    @extend_schema(request=None, summary="Disconnect QuickBooks", responses=OpenApiTypes.OBJECT)
    def post(self, request):
        from integration.quickbooks import services as qbo_services

        if self.connection is None:
            raise ApiError(status_code=409, code="not_connected", message=_("QuickBooks is not connected."))
        try:
            qbo_services.connection_disconnect(connection=self.connection, actor=self.membership)
        except qbo_services.DisconnectForbidden as exc:
            raise ApiError(status_code=403, code="not_allowed", message=str(exc)) from exc
        return Response({"status": "disconnected"})
