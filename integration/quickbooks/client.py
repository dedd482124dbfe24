"""Typed functions over the QBO Accounting API v3 for one realm (reference §2-§4).

One `QboClient` = one realm + one HTTP session (integration.http: timeouts, User-Agent, call
log) + a token source + the per-realm limiter. Every request carries `minorversion=75`
(reference §2.3) and every write a `requestid` (reference §2.4), so a retry after a timeout
replays QBO's first answer instead of writing twice. A 401 refreshes the token once and retries.

Build one for a stored connection with `integration.quickbooks.services.client_for(connection=...)`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from integration.errors import AuthRevoked, IntegrationError, RateLimited, TransientError
from integration.http import TimeoutSession
from integration.quickbooks.errors import (
    SERVICE,
    AuthExpired,
    error_for_exception,
    error_for_response,
)
from integration.quickbooks.limiter import BaseLimiter, get_limiter

MINOR_VERSION = "75"
MAX_PAGE = 1000  # MAXRESULTS cap (reference §2.5)
MAX_REQUEST_ID = 50

_ENTITY = re.compile(r"^[A-Z][A-Za-z]{1,40}$")
_ID = re.compile(r"^[0-9]{1,20}$")
_PAGING = re.compile(r"\b(STARTPOSITION|MAXRESULTS)\b", re.I)


class TokenSource(Protocol):
    """Gives the current access token, and a fresh one when QBO refused `stale`.

    It may also have `revoked()`, called when QBO itself says the authorization is gone
    (403 code 120).
    """

    def get(self) -> str: ...

    def refresh(self, *, stale: str) -> str: ...


@dataclass
class StaticToken:
    """A token we just got (connect flow): nothing to refresh it with."""

    token: str = field(repr=False)

    def get(self) -> str:
        return self.token

    def refresh(self, *, stale: str) -> str:
        raise AuthRevoked(_("QuickBooks refused a brand-new access token."), service=SERVICE)


@dataclass(frozen=True)
class QueryPage:
    entity: str | None
    items: list[dict]
    start_position: int | None
    max_results: int | None
    total_count: int | None
    time: str = ""


@dataclass(frozen=True)
class CdcResult:
    changes: dict[str, list[dict]]  # entity name -> changed objects (deleted ones have status "Deleted")
    time: str  # server time of the answer: the next `changed_since`


@dataclass
class PdfDownload:
    """A PDF being streamed from QBO. Iterate `chunks()` (closes when done) or call `close()`."""

    response: requests.Response
    content_type: str = "application/pdf"
    length: int | None = None

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        try:
            yield from self.response.iter_content(chunk_size=size)
        finally:
            self.response.close()

    def close(self) -> None:
        self.response.close()


def new_request_id() -> str:
    return str(uuid.uuid4())


def quote(value: str) -> str:
    """A string literal for the query language: single quotes, backslash escapes (reference §2.5)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _entity(name: str) -> str:
    if not _ENTITY.match(name):
        raise ValueError(f"not a QBO entity name: {name!r}")
    return name


def _id(value: str | int) -> str:
    value = str(value)
    if not _ID.match(value):
        raise ValueError(f"not a QBO id: {value!r}")
    return value


def _request_id(value: str | None, *, limit: int = MAX_REQUEST_ID) -> str:
    value = value or new_request_id()
    if len(value) > limit:
        raise ValueError(f"requestid is limited to {limit} characters")
    return value


@dataclass
class QboClient:
    realm_id: str
    tokens: TokenSource
    session: TimeoutSession
    limiter: BaseLimiter = field(default_factory=get_limiter)
    base_url: str = ""

    def __post_init__(self) -> None:
        self.realm_id = _id(self.realm_id)
        self.base_url = (self.base_url or settings.QBO_API_BASE_URL).rstrip("/")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> QboClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}/{path}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict | None = None,
        stream: bool = False,
    ) -> requests.Response:
        params = {**(params or {}), "minorversion": MINOR_VERSION}
        token = self.tokens.get()
        for attempt in (1, 2):
            request_headers = {"Accept": "application/json", "Authorization": f"Bearer {token}", **(headers or {})}
            with self.limiter.slot(self.realm_id):
                try:
                    response = self.session.request(
                        method,
                        self._url(path),
                        params=params,
                        json=json,
                        data=data,
                        headers=request_headers,
                        stream=stream,
                    )
                except requests.RequestException as exc:
                    raise error_for_exception(exc) from exc
            if 200 <= response.status_code < 300:
                return response
            error = error_for_response(response)
            response.close()
            if isinstance(error, AuthExpired):
                if attempt == 1:
                    token = self.tokens.refresh(stale=token)
                    continue
                # A 401 right after a successful refresh is Intuit's hiccup, not a revocation (that
                # is invalid_grant on refresh): try again later rather than force a reconnect.
                raise TransientError(
                    _("QuickBooks refused a freshly refreshed token; try again in a moment."),
                    service=SERVICE,
                    code=error.code,
                    status=error.status,
                ) from error
            if isinstance(error, AuthRevoked):
                self._revoked()
            elif isinstance(error, RateLimited):
                # Every worker holds off this realm, instead of each finding out by its own 429.
                self.limiter.pause(self.realm_id, error.retry_after or 60.0)
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _revoked(self) -> None:
        hook = getattr(self.tokens, "revoked", None)
        if hook is not None:
            hook()

    def _json(self, method: str, path: str, **kwargs) -> dict:
        response = self._send(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise IntegrationError(_("QuickBooks sent an unreadable answer."), service=SERVICE) from exc
        if not isinstance(body, dict):
            raise IntegrationError(_("QuickBooks sent an unexpected answer."), service=SERVICE)
        return body

    @staticmethod
    def _entity_of(body: dict, entity: str) -> dict:
        try:
            return body[entity]
        except KeyError as exc:
            raise IntegrationError(_("QuickBooks answered without the %s object.") % entity, service=SERVICE) from exc

    # -- reads -------------------------------------------------------------------------------

    def read(self, entity: str, entity_id: str | int, *, include: str = "") -> dict:
        """One object by id (610 → QboNotFound); `include="invoiceLink"` asks for the share link."""
        entity = _entity(entity)
        params = {"include": include} if include else None
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#read-an-invoice
        return self._entity_of(self._json("GET", f"{entity.lower()}/{_id(entity_id)}", params=params), entity)

    def query(self, sql: str) -> QueryPage:
        """One page of a query in QBO's SQL subset; `items` is empty past the end."""
        # Long IN (...) lists do not fit a URL, so the statement goes in the body as QBO's SDKs do.
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        body = self._json("POST", "query", data=sql.encode(), headers={"Content-Type": "application/text"})
        page = body.get("QueryResponse") or {}
        entity = next((key for key, value in page.items() if isinstance(value, list)), None)
        return QueryPage(
            entity=entity,
            items=list(page.get(entity) or []) if entity else [],
            start_position=page.get("startPosition"),
            max_results=page.get("maxResults"),
            total_count=page.get("totalCount"),
            time=str(body.get("time") or ""),
        )

    def query_all(self, sql: str, *, page_size: int = MAX_PAGE) -> Iterator[dict]:
        """Every row of `sql` (no STARTPOSITION/MAXRESULTS of its own), page by page."""
        if _PAGING.search(sql):
            raise ValueError("query_all() adds STARTPOSITION and MAXRESULTS itself")
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE}")
        start = 1
        while True:
            page = self.query(f"{sql} STARTPOSITION {start} MAXRESULTS {page_size}")
            yield from page.items
            if len(page.items) < page_size:
                return
            start += page_size

    def company_info(self) -> dict:
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo
        return self._entity_of(self._json("GET", f"companyinfo/{self.realm_id}"), "CompanyInfo")

    def preferences(self) -> dict:
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/preferences
        return self._entity_of(self._json("GET", "preferences"), "Preferences")

    def cdc(self, entities: list[str], *, changed_since: datetime) -> CdcResult:
        """Objects of `entities` changed since then (≤ 30 days back, ≤ 1000 objects; reference §2.7)."""
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        names = [_entity(name) for name in entities]
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
        body = self._json(
            "GET",
            "cdc",
            params={"entities": ",".join(names), "changedSince": changed_since.isoformat(timespec="seconds")},
        )
        changes: dict[str, list[dict]] = {name: [] for name in names}
        for block in body.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for key, value in (response or {}).items():
                    if isinstance(value, list):
                        changes.setdefault(key, []).extend(value)
        return CdcResult(changes=changes, time=str(body.get("time") or ""))

    def invoice_pdf(self, invoice_id: str | int) -> PdfDownload:
        """The invoice as QBO renders it, streamed (the limiter slot ends when headers arrive)."""
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#get-an-invoice-as-pdf
        response = self._send(
            "GET",
            f"invoice/{_id(invoice_id)}/pdf",
            headers={"Accept": "application/pdf, application/json"},
            stream=True,
        )
        length = response.headers.get("Content-Length")
        return PdfDownload(
            response=response,
            content_type=response.headers.get("Content-Type", "application/pdf").split(";")[0],
            length=int(length) if length and length.isdigit() else None,
        )

    # -- writes (each with a requestid) -------------------------------------------------------

    def create(self, entity: str, body: dict, *, request_id: str | None = None) -> dict:
        """Create an object; reusing `request_id` replays QBO's first answer."""
        entity = _entity(entity)
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#create-an-invoice
        answer = self._json("POST", entity.lower(), params={"requestid": _request_id(request_id)}, json=body)
        return self._entity_of(answer, entity)

    def sparse_update(
        self, entity: str, entity_id: str | int, sync_token: str, changes: dict, *, request_id: str | None = None
    ) -> dict:
        """Change only the given fields (stale SyncToken → QboStaleObject)."""
        entity = _entity(entity)
        body = {**changes, "Id": _id(entity_id), "SyncToken": str(sync_token), "sparse": True}
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#sparse-update-an-invoice
        answer = self._json("POST", entity.lower(), params={"requestid": _request_id(request_id)}, json=body)
        return self._entity_of(answer, entity)

    def delete(self, entity: str, entity_id: str | int, sync_token: str, *, request_id: str | None = None) -> dict:
        """Hard-delete a transaction; the answer is a `status: "Deleted"` stub."""
        entity = _entity(entity)
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#delete-an-invoice
        answer = self._json(
            "POST",
            entity.lower(),
            params={"operation": "delete", "requestid": _request_id(request_id)},
            json={"Id": _id(entity_id), "SyncToken": str(sync_token)},
        )
        return self._entity_of(answer, entity)

    def void(self, entity: str, entity_id: str | int, sync_token: str, *, request_id: str | None = None) -> dict:
        """Void: amounts zeroed, PrivateNote starts with "Voided" (reference §4.5)."""
        entity = _entity(entity)
        body: dict[str, object] = {"Id": _id(entity_id), "SyncToken": str(sync_token)}
        if entity == "Invoice":
            # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#void-an-invoice
            params = {"operation": "void"}
        else:
            # Payments and sales receipts void through a sparse update (reference §2.1).
            # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment#void-a-payment
            params = {"operation": "update", "include": "void"}
            body["sparse"] = True
        answer = self._json("POST", entity.lower(), params={**params, "requestid": _request_id(request_id)}, json=body)
        return self._entity_of(answer, entity)

    def send_invoice(self, invoice_id: str | int, *, send_to: str | None = None, request_id: str | None = None) -> dict:
        """QBO emails the invoice (to `send_to`, else its BillEmail); EmailStatus becomes EmailSent."""
        params = {"requestid": _request_id(request_id)}
        if send_to:
            params["sendTo"] = send_to
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#send-an-invoice
        answer = self._json(
            "POST",
            f"invoice/{_id(invoice_id)}/send",
            params=params,
            data=b"",
            headers={"Content-Type": "application/octet-stream"},
        )
        return self._entity_of(answer, "Invoice")
