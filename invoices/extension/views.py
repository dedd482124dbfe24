"""The reverse API Pipedrive calls for its native invoice tab. Views are thin: authenticate
(Basic, app credentials), resolve the link and enter its company's scope, call a service, answer
in the `{"success": …, "data": …}` envelope."""

from __future__ import annotations

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
from invoices import services as invoice_services
from invoices.extension import auth, endpoints, errors, mappers
from invoices.extension import services as ext
from invoices.extension.context import LinkContext, link_context
from invoices.extension.errors import ExtensionError, ok
from tenants.scoping import CompanyScopeError, company_scope

logger = logging.getLogger(__name__)


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
        if not auth.is_pipedrive(request.headers.get("Authorization")):
            return errors.unauthorized().response()
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            return ExtensionError(405, "method_not_allowed", _("Method not allowed.")).response()
        try:
            ctx = link_context(request, link_id, allow_disconnected=self.allow_disconnected)
            with company_scope(ctx.company):
                if self.members_only:
                    ext.require_viewer(ctx)
                return handler(request, ctx, **kwargs)
        except ExtensionError as error:
            return error.response()
        except invoice_services.InvoiceError as error:
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
            return json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise errors.bad_request(_("The body is not valid JSON.")) from exc

    @staticmethod
    def request_id(request: HttpRequest) -> str | None:
        """A caller's idempotency key, reused as QBO's requestid (≤ 50 characters)."""
        key = request.headers.get("Idempotency-Key") or request.headers.get("X-Request-Id") or ""
        return key if 0 < len(key) <= 50 else None


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
        return ok(ext.currencies_list(connection=ctx.connection))


class TaxRatesView(ExtensionView):
    def get(self, request, ctx):
        return ok(ext.tax_rates_list(connection=ctx.connection))


class AccountsView(ExtensionView):
    def get(self, request, ctx):
        return ok(ext.accounts_list(connection=ctx.connection))


class TemplatesView(ExtensionView):
    """QBO offers no template choice through its API: always empty (features.templates false)."""

    members_only = False

    def get(self, request, ctx):
        return ok([])


# -- contacts and products ----------------------------------------------------------------------


class ContactsView(ExtensionView):
    def get(self, request, ctx):
        return ok(ext.contacts_search(connection=ctx.connection, name=request.GET.get("name", "")))

    def post(self, request, ctx):
        ext.require_active(ctx)
        contact = ext.contact_create(
            connection=ctx.connection, body=self.body(request), request_id=self.request_id(request)
        )
        return ok(contact, status=201)


class ContactView(ExtensionView):
    def get(self, request, ctx, contact_id: str):
        return ok(ext.contact_get(connection=ctx.connection, contact_id=contact_id))

    def put(self, request, ctx, contact_id: str):
        ext.require_active(ctx)
        contact = ext.contact_update(
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
            ext.products_search(
                connection=ctx.connection,
                name=request.GET.get("name", ""),
                code=request.GET.get("code", ""),
                force_code=force,
            )
        )

    def post(self, request, ctx):
        ext.require_active(ctx)
        product = ext.product_create(
            connection=ctx.connection, body=self.body(request), request_id=self.request_id(request)
        )
        return ok(product, status=201)


class ProductView(ExtensionView):
    def get(self, request, ctx, product_id: str):
        return ok(ext.product_get(connection=ctx.connection, product_id=product_id))

    def put(self, request, ctx, product_id: str):
        ext.require_active(ctx)
        product = ext.product_update(
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
        deal_id = int(deal) if str(deal or "").isdigit() else None
        invoice = ext.invoice_create(
            ctx=ctx,
            body=body,
            raw_body=request.body,
            key=request.headers.get("Idempotency-Key"),
            deal_id=deal_id,
        )
        invoice = ext.invoice_of_link(ctx=ctx, invoice_id=str(invoice.pk))
        # 201 when QuickBooks has it; 202 when QuickBooks was unavailable and a retry is scheduled.
        status = 201 if invoice.state == invoice.State.CREATED else 202
        return ok(mappers.invoice_out(invoice, actor=ctx.actor), status=status)


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
        return ok(mappers.invoice_out(updated, actor=ctx.actor))


class InvoiceEmailView(InvoiceMixin, ExtensionView):
    def post(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        ext.require_active(ctx)
        invoice_services.invoice_send(invoice=invoice, actor=ctx.actor)
        return ok(mappers.invoice_out(ext.invoice_of_link(ctx=ctx, invoice_id=invoice_id), actor=ctx.actor))


class InvoiceShareView(InvoiceMixin, ExtensionView):
    def get(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        return ok({"url": ext.invoice_share_url(ctx=ctx, invoice=invoice)})


class InvoicePdfView(InvoiceMixin, ExtensionView):
    """getInvoicePDF: the PDF streamed from QuickBooks (not in the envelope)."""

    def get(self, request, ctx, invoice_id: str):
        invoice = self.invoice(ctx, invoice_id)
        ext.require_active(ctx)
        return invoice_services.invoice_pdf_response(invoice=invoice, actor=ctx.actor)


class SummaryView(ExtensionView):
    def get(self, request, ctx):
        ext.require_viewer(ctx)
        return ok(ext.summary(ctx=ctx, params=request.GET))


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The manifest for Developer Hub. Public: it names only our public client id and URLs."""
    return JsonResponse(endpoints.manifest())
