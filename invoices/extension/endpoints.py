"""The 21 reverse-API endpoints of the manifest (invoicing-extension.md, "Endpoints"): name, HTTP
method and path under /ext/invoicing with the manifest's placeholders."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

MANIFEST_VERSION = "v202101"

# (manifest name, method, path relative to /ext/invoicing)
ENDPOINTS: list[tuple[str, str, str]] = [
    ("getProviderAccount", "GET", "/:linkId"),
    ("getProviderAccountConnectUrl", "GET", "/users/:linkId/auth"),
    ("postInvoice", "POST", "/:linkId/invoices"),
    ("postInvoiceStatus", "POST", "/:linkId/invoices/:invoiceId/action"),
    ("postInvoiceEmail", "POST", "/:linkId/invoices/:invoiceId/email"),
    ("getSearchInvoices", "GET", "/:linkId/invoices"),
    ("getInvoiceShareUrl", "GET", "/:linkId/invoices/:invoiceId/share"),
    ("getInvoicePDF", "GET", "/:linkId/invoices/:invoiceId/download"),
    ("getInvoiceSummary", "GET", "/:linkId/report/invoice-summary"),
    ("getCurrencies", "GET", "/:linkId/currencies"),
    ("getTaxRates", "GET", "/:linkId/tax-rates"),
    ("getAccounts", "GET", "/:linkId/invoice-accounts"),
    ("getTemplates", "GET", "/:linkId/invoice-templates"),
    ("getProduct", "GET", "/:linkId/products/:productId"),
    ("postProduct", "POST", "/:linkId/products"),
    ("putProduct", "PUT", "/:linkId/products/:productId"),
    ("getSearchProducts", "GET", "/:linkId/products"),
    ("getContact", "GET", "/:linkId/contacts/:contactId"),
    ("postContact", "POST", "/:linkId/contacts"),
    ("putContact", "PUT", "/:linkId/contacts/:contactId"),
    ("getSearchContacts", "GET", "/:linkId/contacts"),
]

# QBO's API has no invoice template (custom form style) choice: see README.md.
TEMPLATES_SUPPORTED = False


def base_url() -> str:
    """Absolute base of the reverse API, from PUBLIC_BASE_URL."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('invoicing_extension:manifest').rsplit('/', 1)[0]}"


def manifest() -> dict:
    """The manifest to upload in Developer Hub, with absolute URLs."""
    base = base_url()
    return {
        "version": MANIFEST_VERSION,
        "clientId": settings.PIPEDRIVE_CLIENT_ID,
        "features": {"templates": TEMPLATES_SUPPORTED},
        "endpoints": {name: f"{base}{path}" for name, _method, path in ENDPOINTS},
    }
