"""Celery tasks of the support console: bulk actions run here, recorded on their AuditLog row."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tenants.run_support_action", acks_late=True)
def run_support_action(*, audit_id: int) -> str:
    """Run a queued support action (resumable: targets already recorded are skipped)."""
    from tenants.support import support_action_run

    return support_action_run(audit_id=audit_id).status
