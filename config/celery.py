"""The Celery app. Tasks are thin: they take ids, enter the company scope, call a service."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qbo_pipedrive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The background mark each running task replaced, by task id: an eager task run inside a task
# (or a web request) restores what its caller had, not always "foreground".
_marks: dict = {}


@signals.task_prerun.connect
def _background_limiter_waits(task_id=None, **kwargs):
    """Tasks may wait for a QuickBooks limiter slot longer than a web request does."""
    from integration.quickbooks.limiter import set_background

    _marks[task_id] = set_background(True)


@signals.task_postrun.connect
def _foreground_again(task_id=None, **kwargs):
    from integration.quickbooks.limiter import set_background

    token = _marks.pop(task_id, None)
    try:
        token.var.reset(token)  # an eager task inside a web request: that request waits briefly again
    except (AttributeError, ValueError, RuntimeError):
        set_background(False)


@signals.worker_ready.connect
def _catch_up_on_start(sender=None, **kwargs):
    """A worker (re)started: heal now (stale intents, stored webhooks, a catch-up CDC) instead of
    at the next beat tick. The broker may still be away; then beat's next tick does it."""
    from django.conf import settings

    if not getattr(settings, "HEAL_ON_WORKER_START", True):
        return
    try:
        sender.app.send_task("invoices.heal")
    except Exception:  # best effort: beat runs the same task every few seconds
        logging.getLogger(__name__).warning("could not queue the start-up heal", exc_info=True)
