"""Call log, throttling (500/min, 10 in flight per realm) and injected failures.

Rows are written outside the request's transaction so other processes see in-flight calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import struct
import time
from contextlib import contextmanager

from django.db.models import F
from django.http import HttpRequest, HttpResponse

from integration.sandbox.quickbooks import clock
from integration.sandbox.quickbooks.faults import THROTTLE_XML, new_tid
from integration.sandbox.quickbooks.models import SandboxCall, SandboxFailure
from integration.sandbox.quickbooks.render import json_response

logger = logging.getLogger(__name__)

RATE_PER_MINUTE = 500
MAX_IN_FLIGHT = 10
IN_FLIGHT_HORIZON = dt.timedelta(seconds=120)  # QBO times requests out after 120 s


class Call:
    def __init__(self, row: SandboxCall):
        self.row = row
        self.realm_id = row.realm_id
        self.status: int | None = None
        self.reset_after = False

    def finish(self, response: HttpResponse) -> HttpResponse:
        self.status = response.status_code
        return response


@contextmanager
def track(request: HttpRequest, *, kind: str, realm_id: str = ""):
    """Log the call for its whole duration (in flight until the block ends)."""
    with clock.pinned(), _tracked(request, kind=kind, realm_id=realm_id) as call:
        yield call


@contextmanager
def _tracked(request: HttpRequest, *, kind: str, realm_id: str):
    row = SandboxCall.objects.create(
        realm_id=realm_id,
        kind=kind,
        method=request.method or "",
        path=request.path[:500],
        request_id=request.GET.get("requestid", "")[:100],
        started_at=clock.now(),
    )
    call = Call(row)
    if row.pk % 1000 == 0:
        # Keep the log bounded by count, not by the sandbox clock (which tests move forward):
        # the last 50,000 calls are plenty for rate limits and assertions.
        SandboxCall.objects.filter(pk__lt=row.pk - 50_000).delete()
    try:
        yield call
    finally:
        SandboxCall.objects.filter(pk=row.pk).update(
            status=call.status, finished_at=clock.now(), realm_id=call.realm_id or ""
        )


def throttled(call: Call) -> HttpResponse | None:
    """429 with the XML ThrottleExceeded body QBO sends even to JSON clients (reference §6)."""
    now = clock.now()
    recent = SandboxCall.objects.filter(
        realm_id=call.realm_id, kind="api", started_at__gt=now - dt.timedelta(minutes=1)
    )
    in_flight = recent.model.objects.filter(
        realm_id=call.realm_id, kind="api", finished_at__isnull=True, started_at__gt=now - IN_FLIGHT_HORIZON
    )
    if recent.count() > RATE_PER_MINUTE or in_flight.count() > MAX_IN_FLIGHT:
        return throttle_response()
    return None


def throttle_response() -> HttpResponse:
    response = HttpResponse(THROTTLE_XML.format(time=clock.qbo_time()), status=429, content_type="application/xml")
    response["intuit_tid"] = new_tid()
    return response


def _take_failure(*, realm_id: str, target: str) -> SandboxFailure | None:
    for failure in SandboxFailure.objects.filter(target=target, remaining__gt=0).order_by("id"):
        if failure.realm_id and failure.realm_id != realm_id:
            continue
        # Conditional decrement so two processes cannot both consume the last one.
        if SandboxFailure.objects.filter(pk=failure.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            return failure
    return None


def injected_failure(call: Call, *, target: str = "api") -> HttpResponse | None:
    """Apply the next injected failure, if any: a response to send instead, or None to go on."""
    failure = _take_failure(realm_id=call.realm_id, target=target)
    if failure is None:
        return None
    logger.info("sandbox: injecting %s on %s", failure.kind, call.row.path)
    if failure.kind == SandboxFailure.Kind.UNAVAILABLE:
        body = {
            "Fault": {
                "Error": [
                    {
                        "Message": "Service Unavailable",
                        "Detail": "The service is temporarily unavailable. Try again later.",
                        "code": "10000",
                    }
                ],
                "type": "SystemFault",
            },
            "time": clock.qbo_time(),
        }
        return call.finish(json_response(body, status=503))
    if failure.kind == SandboxFailure.Kind.THROTTLE:
        return call.finish(throttle_response())
    if failure.kind == SandboxFailure.Kind.TIMEOUT:
        # The server is slow but still does the work: a client that gave up must retry
        # with the same requestid to avoid a duplicate.
        time.sleep(failure.delay_seconds or 2.0)
        return None
    call.reset_after = True
    return None


def connection_socket(request: HttpRequest) -> socket.socket | None:
    """The client socket under runserver/live_server (via wsgi.input) or gunicorn."""
    sock = request.META.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return sock
    obj = request.META.get("wsgi.input")
    for _ in range(6):
        if obj is None:
            return None
        if isinstance(obj, socket.socket):
            return obj
        if hasattr(obj, "_sock"):
            obj = obj._sock
        elif hasattr(obj, "_read") and hasattr(obj._read, "__self__"):
            obj = obj._read.__self__
        elif hasattr(obj, "raw"):
            obj = obj.raw
        else:
            return None
    return None


def reset_connection(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Drop the TCP connection with a RST after the write committed (the client sees a reset)."""

    def _abort():
        sock = connection_socket(request)
        if sock is None:
            logger.warning("sandbox: cannot reach the socket to reset; answering 502 instead")
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("sandbox: socket already gone")

    if connection_socket(request) is None:
        failed = HttpResponse(b"", status=502)
        failed["intuit_tid"] = new_tid()
        return failed
    # Runs after the write committed: views call this outside their atomic blocks.
    _abort()
    return response
