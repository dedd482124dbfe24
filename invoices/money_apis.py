"""The panel API's money-loop reads: "Won, not invoiced" for the panel's "…" menu (the same report as
the page /money-loop/won-not-invoiced, invoices/won_report.py)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from integration.pipedrive import selectors as pipedrive_selectors
from invoices.apis import ApiError, PanelApi
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
