"""Landing page and health probes."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def home(request):
    return render(request, "home.html", {"sandboxes_enabled": settings.SANDBOXES_ENABLED})


@transaction.non_atomic_requests  # a liveness probe must not need the database
@never_cache
@require_GET
def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means not ready
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "in-process"}
    import redis

    started = time.monotonic()
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "mode": "redis", "ms": round((time.monotonic() - started) * 1000, 1)}


@transaction.non_atomic_requests  # the check reports a database failure instead of dying on it
@never_cache
@require_GET
def readyz(request):
    """The database and the task broker are reachable: 200, else 503 naming what failed."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
