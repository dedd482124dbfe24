"""The panel reads' plain views (invoices/panel_reads.py): GET and HEAD answered without DRF's dispatch,
errors through the DRF view's own mapping, and the member and connection remembered per process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import wraps

from django.http import HttpResponse
from django.utils.translation import get_language
from rest_framework import exceptions

from integration.pipedrive.jwt import authenticated_membership, request_claims
from integration.quickbooks import selectors as qbo_selectors
from integration.quickbooks.models import QuickBooksConnection
from invoices import panel_cache, validation
from invoices.panel_json import _matches, body_response, json_response, not_modified
from invoices.sync import company_today
from tenants.language import activate_for_membership
from tenants.models import Membership
from tenants.scoping import company_scope


class SeatChanged(Exception):
    """The remembered member or connection no longer matches the database: authenticate afresh."""


# -- the plain views ----------------------------------------------------------------------------


def _error(view, request, exc: Exception) -> HttpResponse:
    """The DRF view's own handle_exception (PanelApi's mapping and tenants.api.exception_handler:
    one error envelope for the whole panel API), rendered with orjson."""
    if not hasattr(request, "accepted_renderer"):  # DRF reads it when an exception is uncaught (DEBUG)
        from rest_framework.renderers import JSONRenderer

        request.accepted_renderer = JSONRenderer()
    response = view.handle_exception(exc)
    out = json_response(response.data, status=response.status_code)
    for header in ("WWW-Authenticate", "Retry-After"):
        if response.has_header(header):
            out[header] = response[header]
    return out


def fast_reads(drf_view, read, *, key_params: tuple[str, ...] = ()):
    """The URL's view: GET and HEAD answered by `read(view, request, fingerprint=…, **kwargs)` with
    no DRF dispatch (`read` may return None to hand the request to DRF); every other method by
    `drf_view`. It carries drf_view's attributes (its class, which documents the GET in the OpenAPI
    schema; csrf_exempt; non-atomic requests).

    The member and connection are remembered per (Pipedrive company, user) for SEAT_SECONDS; the
    token is verified on every request by the same function as DRF's authentication class. Answers
    are remembered per process (invoices/panel_cache.py) under a key holding the query parameters
    named in `key_params`: the ones `read` uses (others cannot change its answer)."""

    @wraps(drf_view)
    def endpoint(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return drf_view(request, *args, **kwargs)
        view = drf_view.view_class(**drf_view.view_initkwargs)
        view.request, view.args, view.kwargs, view.headers = request, args, kwargs, {}
        try:
            claims = request_claims(request)
            if claims is None:
                raise exceptions.NotAuthenticated()
            if not validation.path_ids_bounded(kwargs):
                raise exceptions.NotFound()
            seat = _seats.get((claims.company_id, claims.user_id))
            if seat is None or seat.expires <= time.monotonic():
                seat = _load_seat(claims)
            cache = panel_cache.current() if request.method == "GET" else None
            response = key = stamp = None
            for last in (False, True):
                view.membership, view.company, view.connection = (
                    seat.membership,
                    seat.membership.company,
                    seat.connection,
                )
                activate_for_membership(request, seat.membership)  # as the authentication class does
                if cache is not None:  # the stamp before the read: a notice meanwhile voids what it reads
                    key, stamp = _cache_key(request, seat, key_params), cache.stamp(view.company.pk)
                    if stamp is not None and (answer := cache.get(key, stamp)) is not None:
                        if _matches(request, answer.etag):
                            return not_modified(answer.etag)
                        if answer.body is not None:
                            return body_response(answer.body, etag=answer.etag)
                try:
                    with company_scope(view.company):
                        response = read(view, request, fingerprint=None if last else seat.fingerprint, **kwargs)
                    break
                except SeatChanged:
                    seat = _load_seat(claims)
            # A read after SeatChanged ran without the seat check (fingerprint None) on a seat loaded
            # before its stamp was taken: a change in between is in neither, so it is not remembered.
            if cache is not None and stamp is not None and response is not None and not last:
                _remember(cache, key, stamp, view.company.pk, response)
        except Exception as exc:  # every error is answered by the API's one mapping
            return _error(view, request, exc)
        return drf_view(request, *args, **kwargs) if response is None else response

    return endpoint


def _cache_key(request, seat: Seat, params: tuple[str, ...]) -> tuple:
    """What a read's answer depends on besides the company's data (invoices/panel_cache.py)."""
    today = company_today(seat.connection) if seat.connection is not None else None
    query = tuple(tuple(request.GET.getlist(name)) for name in params)
    return (request.path, query, seat.fingerprint, get_language(), today)


def _remember(cache: panel_cache.PanelCache, key, stamp, company: int, response: HttpResponse) -> None:
    """A 200 is remembered with its body, a 304 with its ETag alone; errors are not remembered."""
    etag = response.get("ETag")
    if etag and response.status_code in (200, 304):
        body = response.content if response.status_code == 200 else None
        cache.put(key, panel_cache.Answer(etag=etag, body=body, stamp=stamp, company=company))


# -- the member and the connection, remembered per process -------------------------------------
#
# A panel read needs the member (from the token's claims) and the company's live connection: two
# queries before any invoice is read. Each process remembers them per (Pipedrive company, user) for
# SEAT_SECONDS. The token itself is verified on every request (signature, lifetime, claims), and a
# remembered seat is re-checked against the database on every request, in the same statement that
# reads the invoices (or the ETag's aggregates): if the company was uninstalled, the member removed
# or deactivated, their rights or the company's visibility changed, or the connection was
# disconnected, replaced or changed, the seat is dropped and the request authenticates from scratch
# (401 when it must). So nothing is served on stale rights, and no code elsewhere has to remember to
# invalidate anything.

SEAT_SECONDS = 30.0
SEAT_LIMIT = 10_000  # entries per process; cleared when full (a cache, not a store)


@dataclass(frozen=True)
class Seat:
    membership: Membership
    connection: QuickBooksConnection | None
    fingerprint: tuple
    expires: float


_seats: dict[tuple[int, int], Seat] = {}
_seats_lock = threading.Lock()


def forget_seats() -> None:
    with _seats_lock:
        _seats.clear()


def fingerprint(membership: Membership, connection: QuickBooksConnection | None) -> tuple:
    """What a read's rights and body depend on, besides the invoices: the seat columns (_SEAT) of
    every statement, in the same order."""
    company = membership.company
    owner = connection.owner if connection is not None and connection.owner_id else None
    return (
        membership.pk,
        membership.pipedrive_user_id,
        membership.is_admin,
        membership.language,  # the body's language (tenants/language.py)
        membership.pipedrive_language,
        membership.user.is_active,
        company.pk,
        company.pipedrive_company_id,
        company.status,
        company.invoice_visibility,
        *(
            (
                connection.pk,
                connection.status,
                connection.owner_id,
                connection.company_name,
                connection.home_currency,
                connection.timezone,
                owner.user.name if owner else None,
                owner.user.email if owner else None,
            )
            if connection is not None
            else (None,) * 8
        ),
    )


def _load_seat(claims) -> Seat:
    """The member (as PipedrivePanelAuthentication finds it: 401 when it must) and the connection,
    read afresh and remembered."""
    with _seats_lock:
        _seats.pop((claims.company_id, claims.user_id), None)
    membership = authenticated_membership(claims)
    connection = qbo_selectors.connection_live(company=membership.company)
    seat = Seat(
        membership=membership,
        connection=connection,
        fingerprint=fingerprint(membership, connection),
        expires=time.monotonic() + SEAT_SECONDS,
    )
    with _seats_lock:
        if len(_seats) >= SEAT_LIMIT:
            _seats.clear()
        _seats[(claims.company_id, claims.user_id)] = seat
    return seat
