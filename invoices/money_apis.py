"""The panel API's money-loop reads: "Won, not invoiced" for the panel's "…" menu (the same report as
the page /money-loop/won-not-invoiced, invoices/won_report.py)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from integration.pipedrive import selectors as pipedrive_selectors
from invoices import create, installments
from invoices.apis import ApiError, PanelApi
from invoices.errors import InvoiceError
from invoices.models import Invoice
from invoices.serializers import DraftInputSerializer, InvoiceSerializer
from invoices.sync import company_today
from invoices.won_report import may_read, period_of, won_not_invoiced


class WonNotInvoicedApi(PanelApi):
    """Won deals of a period with no or partial invoices, and the gap per currency."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="First day won (YYYY-MM-DD); default: 90 days before `to`"),
            OpenApiParameter("to", str, description="Last day won (YYYY-MM-DD); default: today"),
        ],
        summary="Won deals not (fully) invoiced, with the gap per currency",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        if not may_read(membership=self.membership, connection=self.connection):
            self.require_viewer()  # the refusal that names who may see invoices
        period = period_of(
            date_from=request.query_params.get("from"),
            date_to=request.query_params.get("to"),
            today=company_today(self.connection) if self.connection else timezone.now().date(),
        )
        if period is None:
            message = _("Give a period as from=YYYY-MM-DD&to=YYYY-MM-DD, at most a year long.")
            raise ApiError(status_code=400, code="invalid", message=message, fields={"from": [message]})
        installation = pipedrive_selectors.installation_for(company=self.company, membership=self.membership)
        if installation is None:
            raise ApiError(status_code=409, code="reinstall", message=_("Reinstall the app in Pipedrive."))
        report = won_not_invoiced(
            company=self.company, installation=installation, date_from=period[0], date_to=period[1]
        )
        return Response(
            {
                "date_from": period[0].isoformat(),
                "date_to": period[1].isoformat(),
                "rows": [
                    {
                        "deal_id": row.deal_id,
                        "title": row.title,
                        "won_on": row.won_on.isoformat() if row.won_on else None,
                        "currency": row.currency,
                        "value": str(row.value),
                        "invoiced": str(row.invoiced),
                        "gap": str(row.gap),
                        "url": row.url,
                    }
                    for row in report["rows"]
                ],
                "gaps": [{"currency": c, "gap": str(g)} for c, g in report["gaps"].items()],
            }
        )


def _own_installation(view):
    """The member's own Pipedrive access (instalments are read with it), else a clear 409."""
    installation = pipedrive_selectors.installation_for(company=view.company, membership=view.membership)
    if installation is None:
        raise ApiError(
            status_code=409,
            code="not_installed",
            message=_("Install the app in Pipedrive for your own user: Pipedrive data is read with your own access."),
        )
    return installation


class DealInstallmentsApi(PanelApi):
    """The create modal's "one invoice per instalment": the deal's instalments and which are invoiced."""

    @extend_schema(summary="The deal's instalments and the invoice of each, if any", responses=OpenApiTypes.OBJECT)
    def get(self, request, deal_id: int):
        connection = self.require_active()
        return Response(
            {
                "installments": installments.schedule(
                    connection=connection, installation=_own_installation(self), deal_id=deal_id
                )
            }
        )


class InstallmentInvoiceApi(PanelApi):
    """Create the invoice of one instalment, exactly once (a repeat answers with the same invoice)."""

    @extend_schema(
        request=DraftInputSerializer,
        summary="Create the invoice of one instalment of the deal (exactly once)",
        responses={201: InvoiceSerializer, 202: InvoiceSerializer},
    )
    def post(self, request, deal_id: int, installment_id: int):
        connection = self.require_active()
        data = DraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = self.draft_of(data, deal_id)
        installation = _own_installation(self)
        create.draft_as_confirmed(  # the member may see the deal (404 otherwise); the amount is Pipedrive's
            connection=connection, installation=installation, draft=draft, idempotency_key="", confirmed_total=None
        )
        try:
            invoice = installments.installment_invoice_create(
                connection=connection,
                installation=installation,
                draft=draft,
                actor=self.membership,
                deal_id=deal_id,
                installment_id=installment_id,
            )
        except InvoiceError as exc:
            if exc.code == "installment_not_found":
                raise ApiError(status_code=404, code=exc.code, message=exc.message) from exc
            raise
        code = status.HTTP_201_CREATED if invoice.state == Invoice.State.CREATED else status.HTTP_202_ACCEPTED
        return Response(self.serialize(invoice), status=code)
