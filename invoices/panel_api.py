"""The base of the panel API views: Pipedrive JWT authentication, the company's QuickBooks
connection, who may see and act, and our errors in the panel's envelope."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS

from integration.errors import IntegrationError
from integration.pipedrive.jwt import PipedrivePanelAuthentication
from integration.quickbooks import selectors as qbo_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices import access, create, panel_cache, validation
from invoices.drafts import Draft, DraftError
from invoices.errors import ErrorAnswer, InvoiceError, integration_error_answer, invoice_error_answer
from invoices.models import Invoice
from invoices.serializers import InvoiceSerializer
from invoices.sync import company_today
from tenants.api import CompanyScopedApi
from tenants.models import Membership


class ApiError(exceptions.APIException):
    """A refusal in our error envelope, with the fields at fault."""

    def __init__(self, *, status_code: int, code: str, message: str, fields: dict | None = None, problems=None):
        self.status_code = status_code
        super().__init__(detail=message, code=code)
        self.fields = fields or {}
        self.problems = problems or []


def _api_error(answer: ErrorAnswer, *, fields: dict | None = None) -> ApiError:
    if fields is None:
        fields = {}
        for problem in answer.problems:
            fields.setdefault(problem.field, []).append(problem.message)
    return ApiError(
        status_code=answer.status,
        code=answer.code,
        message=answer.message,
        fields=fields,
        problems=[p.as_dict() for p in answer.problems],
    )


class PanelApi(CompanyScopedApi):
    """Base of the panel endpoints: Pipedrive JWT only; `self.connection` is the company's QBO link."""

    authentication_classes = [PipedrivePanelAuthentication]
    manages_transactions = True
    # Set by CompanyScopedApi.initial: IsCompanyMember refuses a request without one before any handler runs.
    membership: Membership

    @classmethod
    def as_view(cls, **initkwargs):
        # Services manage their own transactions: a create commits its intent before calling QBO,
        # and no transaction may stay open across a call to QuickBooks.
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not validation.path_ids_bounded(kwargs):
            raise exceptions.NotFound()
        self.connection = qbo_selectors.connection_live(company=self.company)

    def finalize_response(self, request, response, *args, **kwargs):
        # A panel action committed its writes (services manage their transactions): this process
        # drops the company's remembered panel answers now rather than on PostgreSQL's notice, so the
        # panel's reload right after it never reads the answer from before.
        if request.method not in SAFE_METHODS and getattr(self, "company", None) is not None:
            panel_cache.forget_company(self.company.pk)
        return super().finalize_response(request, response, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, DraftError):
            exc = ApiError(status_code=400, code="invalid", message=exc.message, fields={exc.field: [exc.message]})
        elif isinstance(exc, InvoiceError):
            exc = _api_error(invoice_error_answer(exc))
        elif isinstance(exc, IntegrationError):
            exc = _api_error(integration_error_answer(exc, may_reconnect=self.may_manage_connection()))
        response = super().handle_exception(exc)
        if isinstance(exc, ApiError) and isinstance(response.data, dict) and "error" in response.data:
            response.data["error"]["fields"] = exc.fields
            if exc.problems:
                response.data["error"]["problems"] = exc.problems
        return response

    def require_viewer(self) -> QuickBooksConnection:
        """Invoices are visible to the connection owner, or to everyone in 'team' companies."""
        if self.connection is None:
            raise ApiError(
                status_code=409,
                code="not_connected",
                message=_("QuickBooks is not connected yet. A company admin can connect it in Settings."),
            )
        refusal = access.viewing_refusal(membership=self.membership, connection=self.connection)
        if refusal:
            raise ApiError(status_code=403, code="not_allowed_to_view", message=refusal)
        return self.connection

    def require_active(self) -> QuickBooksConnection:
        connection = self.require_viewer()
        if connection.status != connection.Status.ACTIVE:
            raise ApiError(
                status_code=409,
                code="needs_reconnect",
                message=_("QuickBooks needs reconnecting before invoices can be changed."),
            )
        return connection

    def draft_of(self, data, deal_id: int, *, limits: bool = True) -> Draft:
        """The submitted draft, refused (400, fields named) when a JSON type is wrong or, with
        `limits`, when a value could overflow our columns or QBO's: before anything is read or written."""
        raw = data.validated_data["draft"]
        wrong_types = validation.raw_draft_type_problems(raw)
        if wrong_types:
            raise ApiError(status_code=400, code="invalid", message=_("Some fields are not valid."), fields=wrong_types)
        draft = Draft.from_dict({**raw, "deal_id": deal_id})
        if limits and self.connection is not None:
            create.draft_within_limits(connection=self.connection, draft=draft)
        return draft

    def may_manage_connection(self) -> bool:
        """The connection's owner or a company admin may reconnect or disconnect it."""
        membership = getattr(self, "membership", None)
        connection = getattr(self, "connection", None)
        if membership is None:
            return False
        return membership.is_admin or (connection is not None and connection.owner_id == membership.pk)

    def _owner_name(self) -> str:
        owner = self.connection.owner if self.connection else None
        return owner.user.display_name if owner else _("the connection owner")

    def invoice(self, invoice_id: int) -> Invoice:
        connection = self.require_viewer()
        return get_object_or_404(
            Invoice.objects.select_related("connection", "company"), pk=invoice_id, connection=connection
        )

    def serialize(self, invoices, many=False):
        context = {"membership": self.membership, "today": company_today(self.connection) if self.connection else None}
        return InvoiceSerializer(invoices, many=many, context=context).data

    def connection_info(self) -> dict:
        if self.connection is None:
            return {"status": "not_connected"}
        return {
            "status": self.connection.status,
            "company_name": self.connection.company_name,
            "home_currency": self.connection.home_currency,
            "owner": self._owner_name(),
            "may_disconnect": self.may_manage_connection(),
        }
