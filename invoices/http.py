"""HTTP answers both invoice surfaces (the panel API and the reverse API) give the same way."""

from __future__ import annotations

from django.http import StreamingHttpResponse

from integration.quickbooks.client import PdfDownload
from invoices.lifecycle import invoice_pdf_filename
from invoices.models import Invoice


def pdf_response(*, invoice: Invoice, pdf: PdfDownload) -> StreamingHttpResponse:
    """A PDF streamed from QuickBooks as a download; the connection to QBO is closed when the stream ends."""

    def stream():
        try:
            yield from pdf.chunks()
        finally:
            pdf.close()

    response = StreamingHttpResponse(stream(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    if pdf.length:
        response["Content-Length"] = str(pdf.length)
    return response
