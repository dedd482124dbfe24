"""The support console's action machinery: a registry of actions, who may run them, and the
audited start and background run.

Every action is started with `support_action_start(...)`: it checks the staff member's rights,
writes an `AuditLog` row (queued) and hands the work to a Celery task after the commit. The task
calls `support_action_run(audit_id=...)`, which runs the action target by target and records each
outcome and the counts on the same row, so the admin shows progress and the result.

The actions themselves act on connections, invoices and webhooks, which live in the apps above this
one: they are defined in `invoices/support.py` and registered here (`register`) when the app loads,
so this module imports nothing above `tenants`. Safe actions need `tenants.run_support_actions`
(the "support" group has it); `superuser_only` ones are for superusers only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tenants import audit
from tenants.models import AuditLog, Company, User

logger = logging.getLogger(__name__)


class SupportActionError(Exception):
    """The action cannot run on this target (recorded as that target's failure)."""


@dataclass(frozen=True)
class SupportAction:
    name: str
    label: str | Promise  # a lazy translation when registered at import time
    model: type[models.Model]
    run: Callable[..., str]  # (obj, *, params, actor) -> a short outcome message; raises on failure
    superuser_only: bool = False
    warning: str | Promise = ""
    company_scoped: bool = True  # False for targets that belong to no company (a webhook delivery)

    def company_id_of(self, obj) -> int | None:
        return getattr(obj, "company_id", None) if self.company_scoped else None


ACTIONS: dict[str, SupportAction] = {}


def register(*actions: SupportAction) -> None:
    """Make `actions` runnable from the console (called once per action when its app loads)."""
    for action in actions:
        ACTIONS[action.name] = action


def may_run(*, user: User, action: str) -> bool:
    """Staff with the support permission run safe actions; only superusers run the others."""
    spec = ACTIONS[action]
    if not (user.is_active and user.is_staff):
        return False
    if spec.superuser_only:
        return user.is_superuser
    return user.is_superuser or user.has_perm("tenants.run_support_actions")


def _objects(spec: SupportAction):
    model = spec.model
    manager = getattr(model, "all_companies", None) or model._default_manager  # support spans companies
    queryset = manager.all()
    if spec.company_scoped:
        queryset = queryset.select_related("company")
    return queryset


def support_action_start(*, action: str, actor: User, target_ids: list[int], params: dict | None = None) -> AuditLog:
    """Check rights, record the action (queued) and run it in the background after the commit.

    Raises PermissionDenied (after recording the refusal) when `actor` may not run it.
    """
    from tenants import tasks

    spec = ACTIONS[action]
    ids = sorted({int(i) for i in target_ids})
    companies = (
        set(_objects(spec).filter(pk__in=ids).values_list("company_id", flat=True)) if spec.company_scoped else set()
    )
    company = Company.objects.filter(pk=next(iter(companies))).first() if len(companies) == 1 else None
    label = spec.model._meta.label
    if not may_run(user=actor, action=action):
        audit.audit_open(
            actor=actor,
            action=action,
            company=company,
            target_model=label,
            target_ids=ids,
            params=params,
            status=AuditLog.Status.REFUSED,
            message=_("Refused: %(user)s may not run this action.") % {"user": actor.email},
        )
        raise PermissionDenied(_("You may not run this action."))
    entry = audit.audit_open(
        actor=actor, action=action, company=company, target_model=label, target_ids=ids, params=params
    )
    transaction.on_commit(lambda: tasks.run_support_action.delay(audit_id=entry.pk))
    return entry


def support_action_run(*, audit_id: int) -> AuditLog:
    """The background job: run the action on each target not yet done; resumable and idempotent."""
    entry = AuditLog.objects.select_related("actor").get(pk=audit_id)
    if entry.status in (AuditLog.Status.DONE, AuditLog.Status.FAILED, AuditLog.Status.REFUSED):
        return entry
    spec = ACTIONS[entry.action]
    actor = entry.actor
    audit.audit_started(entry=entry)
    try:
        if actor is None or not may_run(user=actor, action=entry.action):
            raise PermissionDenied(_("The actor lost the right to run this action before it ran."))
        done = {result["id"] for result in entry.results}
        objects = _objects(spec).in_bulk([i for i in entry.target_ids if i not in done])
        for target_id in entry.target_ids:
            if target_id in done:
                continue
            obj = objects.get(target_id)
            if obj is None:
                audit.audit_progress(
                    entry=entry, target_id=target_id, company_id=None, ok=False, message=_("Not found.")
                )
                continue
            try:
                message, ok = spec.run(obj, params=entry.params, actor=actor), True
            except Exception as exc:  # one target's failure is recorded; the others still run
                if not isinstance(exc, SupportActionError):
                    logger.warning(
                        "support action %s on %s %s failed", entry.action, spec.model.__name__, target_id, exc_info=True
                    )
                if isinstance(exc, SupportActionError):
                    message = str(exc)
                else:
                    message = f"{exc.__class__.__name__}: {getattr(exc, 'message', None) or exc}"
                ok = False
            audit.audit_progress(
                entry=entry, target_id=target_id, company_id=spec.company_id_of(obj), ok=ok, message=str(message)
            )
    except Exception as exc:
        audit.audit_crashed(entry=entry, error=exc)
        return entry
    audit.audit_finished(entry=entry)
    return entry
