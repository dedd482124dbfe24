"""The support audit trail: every support action leaves one `AuditLog` row (who, what, when,
which company, result). Bulk jobs update the same row as they go, so it doubles as their
progress record."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from tenants.models import AuditLog, Company, User

MAX_RESULTS = 1000  # per-target outcomes kept on the row; the counts stay exact beyond that


def audit_open(
    *,
    actor: User | None,
    action: str,
    company: Company | None = None,
    target_model: str = "",
    target_ids: list[int] | None = None,
    params: dict | None = None,
    status: str = AuditLog.Status.QUEUED,
    message: str = "",
) -> AuditLog:
    """Record an action before it runs (status queued), or a refusal (status refused)."""
    ids = list(target_ids or [])
    return AuditLog.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        company=company,
        action=action,
        target_model=target_model,
        target_ids=ids,
        params=params or {},
        status=status,
        total=len(ids),
        message=message[:2000],
        finished_at=timezone.now() if status == AuditLog.Status.REFUSED else None,
    )


def audit_started(*, entry: AuditLog) -> None:
    entry.status = AuditLog.Status.RUNNING
    entry.started_at = entry.started_at or timezone.now()
    entry.save(update_fields=["status", "started_at"])


def audit_progress(*, entry: AuditLog, target_id: int, company_id: int | None, ok: bool, message: str) -> None:
    """One target finished: count it and keep its outcome (saved at once, so the admin shows progress)."""
    if ok:
        entry.succeeded = F("succeeded") + 1
    else:
        entry.failed = F("failed") + 1
    if len(entry.results) < MAX_RESULTS:
        entry.results.append({"id": target_id, "company_id": company_id, "ok": ok, "message": message[:500]})
    entry.save(update_fields=["succeeded", "failed", "results"])
    entry.refresh_from_db(fields=["succeeded", "failed"])


def audit_finished(*, entry: AuditLog, message: str = "") -> None:
    """Close the record: done when every target succeeded, failed otherwise."""
    entry.status = AuditLog.Status.DONE if entry.failed == 0 else AuditLog.Status.FAILED
    entry.finished_at = timezone.now()
    entry.message = (message or f"{entry.succeeded} succeeded, {entry.failed} failed of {entry.total}")[:2000]
    entry.save(update_fields=["status", "finished_at", "message"])


def audit_crashed(*, entry: AuditLog, error: BaseException) -> None:
    entry.status = AuditLog.Status.FAILED
    entry.finished_at = timezone.now()
    entry.message = f"{error.__class__.__name__}: {error}"[:2000]
    entry.save(update_fields=["status", "finished_at", "message"])
