"""The reverse API Pipedrive calls for its native invoice tab. Views are thin: authenticate
(Basic, app credentials), resolve the link and enter its company's scope, call a service, answer
in the `{"success": …, "data": …}` envelope."""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from integration.errors import IntegrationError
from integration.pipedrive.basic_auth import is_pipedrive
from invoices import lifecycle, validation
from invoices.errors import InvoiceError
from invoices.extension import catalog, endpoints, errors
from invoices.extension import services as ext
from invoices.extension.context import LinkContext, link_context
from invoices.extension.errors import ExtensionError, ok
from invoices.http import pdf_response
from tenants.scoping import CompanyScopeError, company_scope

logger = logging.getLogger(__name__)


ENVELOPE_KEYS = frozenset({"success", "data"})


def unwrap(payload):
    """The request object, whichever shape Pipedrive sends it in. Pipedrive's page prints the
    InvoiceCreateData sample inside `{"success": boolean, "data": {…}}` and InvoiceAction bare
    (`{"id": "VOIDED"}`), and gives no sample for contacts and products
    (pipedrive-contract-facts.md §4): a body whose only keys are `data` (and `success`), with an
    object in `data`, is that object; anything else is taken as it is. No contract object has a
    `data` key of its own, so the two cannot be confused."""
    if isinstance(payload, dict) and "data" in payload and set(payload) <= ENVELOPE_KEYS:
        inner = payload["data"]
        if isinstance(inner, dict):
            return inner
        # `{"data": [ {…} ]}`: the page prints Contact/Product samples as one-element arrays.
        if isinstance(inner, list) and len(inner) == 1 and isinstance(inner[0], dict):
            return inner[0]
        raise errors.bad_request(_("`data` must hold one JSON object."))
    return payload


class ExtensionView(View):
    """Base: Basic auth first (401 in the envelope, nothing touched), then the link's company scope.
    Handlers take `(request, ctx, **kwargs)`."""

    http_method_names = ["get", "post", "put"]
    allow_disconnected = False
    # The company's invoice visibility applies to everything read or written through QuickBooks
    # (customers and items too), as in the panel; only the link's own state is open to members.
    members_only = True

    @classmethod
    def as_view(cls, **initkwargs):
        # Machine-to-machine calls (no cookies, no CSRF). Services manage their own transactions:
        # a create commits its intent before QuickBooks is called.
        return transaction.non_atomic_requests(csrf_exempt(super().as_view(**initkwargs)))

    def dispatch(self, request: HttpRequest, *args, link_id: str = "", **kwargs):
        if not is_pipedrive(request.headers.get("Authorization")):
            return errors.unauthorized().response()
        method = (request.method or "").lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            return ExtensionError(405, "method_not_allowed", _("Method not allowed.")).response()
        refusal = _query_refusal(request, kwargs)
        if refusal is not None:
            return refusal.response()
        try:
            ctx = link_context(request, link_id, allow_disconnected=self.allow_disconnected)
            with company_scope(ctx.company):
                if self.members_only:
                    ext.require_viewer(ctx)
                return handler(request, ctx, **kwargs)
        except ExtensionError as error:
            return error.response()
        except InvoiceError as error:
            return errors.from_invoice_error(error).response()
        except IntegrationError as error:
            return errors.from_integration_error(error).response()
        except (Http404, ObjectDoesNotExist, CompanyScopeError):
            return errors.not_found().response()
        except Exception as error:
            from tenants.api import is_outage

            if not is_outage(error):
                raise
            logger.error("service outage answered 503: %r", error)
            response = ExtensionError(
                503, "temporarily_unavailable", _("The service is briefly unavailable; try again in a few seconds.")
            ).response()
            response["Retry-After"] = "5"
            return response

    @staticmethod
    def body(request: HttpRequest):
        try:
            payload = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise errors.bad_request(_("The body is not valid JSON.")) from exc
        return unwrap(payload)

    @staticmethod
    def request_id(request: HttpRequest) -> str | None:
        """A caller's idempotency key, reused as QBO's requestid (≤ 50 characters)."""
        key = request.headers.get("Idempotency-Key") or request.headers.get("X-Request-Id") or ""
        return key if 0 < len(key) <= 50 else None


# Query parameters that name ids, and those that are dates, across the endpoints (contract names).
_ID_PARAMS = ("customerId", "contactId", "dealId", "userId")
_DATE_RANGES = (("startDate", "endDate"), ("from", "to"))
MAX_PAGE = 100_000


def _query_refusal(request: HttpRequest, path_ids: dict) -> ExtensionError | None:
    """Input the services would otherwise meet as overflowing integers or an inverted range:
    refused here, in the envelope, before the link is even looked up."""
    for name, value in path_ids.items():
        if name.endswith("_id") and str(value).isdigit() and validation.bounded_id(value) is None:
            return errors.not_found()  # beyond 64 bits, or digits int() cannot read ("²")
    fields: dict[str, list[str]] = {}
    params = request.GET
    for name in _ID_PARAMS:
        value = params.get(name)
        if value not in (None, "") and validation.bounded_id(value) is None:
            fields[name] = [_("This is not an id.")]
    ids = params.get("ids")
    if ids and not all(validation.bounded_id(i) for i in ids.split(",") if i.strip()):
        fields["ids"] = [_("ids is a comma-separated list of invoice ids.")]
    page = params.get("page")
    if page and not (validation.bounded_id(page) and int(page) <= MAX_PAGE):
        fields["page"] = [_("Pages start at 1 and end at %(max)d.") % {"max": MAX_PAGE}]
    for start_name, end_name in _DATE_RANGES:
        try:
            start = dt.date.fromisoformat(str(params.get(start_name) or "")[:10])
            end = dt.date.fromisoformat(str(params.get(end_name) or "")[:10])
        except ValueError:
            continue  # missing or malformed: the service names it
        if start > end:
            fields[end_name] = [_("The end of the range is before its start.")]
    if fields:
        return errors.bad_request(_("Some parameters are not valid."), fields=fields)
    return None


# -- link ---------------------------------------------------------------------------------------


class ProviderAccountView(ExtensionView):
    """getProviderAccount → LinkStatus. A disconnected link answers `authorized: false` so that
    Pipedrive offers to reconnect (getProviderAccountConnectUrl)."""

    allow_disconnected = True
    members_only = False

    def get(self, request, ctx: LinkContext):
        return ok(ext.link_status(connection=ctx.connection))


class ConnectUrlView(ExtensionView):
    allow_disconnected = True
    members_only = False

    def get(self, request, ctx: LinkContext):
        return ok({"url": ext.connect_url()})


# -- reference data -----------------------------------------------------------------------------


class CurrenciesView(ExtensionView):
    def get(self, request, ctx):
        return ok(catalog.currencies_list(connection=ctx.connection))


class TaxRatesView(ExtensionView):
    def get(self, request, ctx):
        return ok(catalog.tax_rates_list(connection=ctx.connection))


class AccountsView(ExtensionView):
    def get(self, request, ctx):
        return ok(catalog.accounts_list(connection=ctx.connection))


class TemplatesView(ExtensionView):
    """QBO offers no template choice through its API: always empty (features.templates false)."""

    members_only = False

    def get(self, request, ctx):
        return ok([])


# -- contacts and products ----------------------------------------------------------------------


class ContactsView(ExtensionView):
    def get(self, request, ctx):
        return ok(catalog.contacts_search(connection=ctx.connection, name=request.GET.get("name", "")))

    def post(self, request, ctx):
        ext.require_active(ctx)
        contact = catalog.contact_create(
            connection=ctx.connection, body=self.body(request), request_id=self.request_id(request)
        )
        return ok(contact, status=201)


class ContactView(ExtensionView):
    def get(self, request, ctx, contact_id: str):
        return ok(catalog.contact_get(connection=ctx.connection, contact_id=contact_id))

    def put(self, request, ctx, contact_id: str):
        ext.require_active(ctx)
        contact = catalog.contact_update(
            connection=ctx.connection,
            contact_id=contact_id,
            body=self.body(request),
            request_id=self.request_id(request),
        )
        return ok(contact)


class ProductsView(ExtensionView):
    def get(self, request, ctx):
        force = str(request.GET.get("forceCodeSearch", "")).lower() in {"1", "true", "yes"}
        return ok(
            catalog.products_search(
                connection=ctx.connection,
                name=request.GET.get("name", ""),
                code=request.GET.get("code", ""),
                force_code=force,
            )
        )

    def post(self, request, ctx):
        ext.require_active(ctx)
        product = catalog.product_create(
            connection=ctx.connection, body=self.body(request), request_id=self.request_id(request)
        )
        return ok(product, status=201)


class ProductView(ExtensionView):
    def get(self, request, ctx, product_id: str):
        return ok(catalog.product_get(connection=ctx.connection, product_id=product_id))

    def put(self, request, ctx, product_id: str):
        ext.require_active(ctx)
        product = catalog.product_update(
            connection=ctx.connection,
            product_id=product_id,
            body=self.body(request),
            request_id=self.request_id(request),
        )
        return ok(product)


# -- invoices -----------------------------------------------------------------------------------


class InvoicesView(ExtensionView):
    def get(self, request, ctx):
        ext.require_viewer(ctx)
        return ok(ext.invoices_search(ctx=ctx, params=request.GET))

    def post(self, request, ctx):
        body = self.body(request)
        deal = request.GET.get("dealId") or (body.get("dealId") if isinstance(body, dict) else None)
        deal_id = validation.bounded_id(deal) if deal not in (None, "") else None
        if deal not in (None, "") and deal_id is None:
            raise errors.bad_request(_("dealId is not a Pipedrive id."), fields={"dealId": [_("This is not an id.")]})
        invoice = ext.invoice_create(
            ctx=ctx,
            body=body,
            # The same object in either shape is the same create (a retry may change the shape).
            raw_body=json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode(),
            key=request.headers.get("Idempotency-Key"),
            deal_id=deal_id,
        )
        invoice = ext.invoice_of_link(ctx=ctx, invoice_id=str(invoice.pk))
        # 201 when QuickBooks has it; 202 when QuickBooks was unavailable and a retry is scheduled.
        status = 201 if invoice.state == invoice.State.CREATED else 202
        return ok(ext.invoice_out(ctx, invoice), status=status)


class InvoiceMixin:
    def invoice(self, ctx: LinkContext, invoice_id: str):
        ext.require_viewer(ctx)
        return ext.invoice_of_link(ctx=ctx, invoice_id=invoice_id)


class InvoiceActionView(InvoiceMixin, ExtensionView):
    def post(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        body = self.body(request)
        action = body.get("id") if isinstance(body, dict) else None
        updated = ext.invoice_action(ctx=ctx, invoice=invoice, action_id=str(action or ""))
        return ok(ext.invoice_out(ctx, updated))


class InvoiceEmailView(InvoiceMixin, ExtensionView):
    def post(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        ext.require_active(ctx)
        lifecycle.invoice_send(invoice=invoice, actor=ctx.actor)
        return ok(ext.invoice_out(ctx, ext.invoice_of_link(ctx=ctx, invoice_id=invoice_id)))


class InvoiceShareView(InvoiceMixin, ExtensionView):
    def get(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        return ok({"url": ext.invoice_share_url(ctx=ctx, invoice=invoice)})


class InvoicePdfView(InvoiceMixin, ExtensionView):
    """getInvoicePDF: the PDF streamed from QuickBooks (not in the envelope)."""

    def get(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        ext.require_active(ctx)
        return pdf_response(invoice=invoice, pdf=lifecycle.invoice_pdf(invoice=invoice, actor=ctx.actor))


class SummaryView(ExtensionView):
    def get(self, request, ctx):
        ext.require_viewer(ctx)
        return ok(ext.summary(ctx=ctx, params=request.GET))


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The manifest for Developer Hub. Public: it names only our public client id and URLs."""
    return JsonResponse(endpoints.manifest())
