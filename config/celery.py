"""The Celery app. Tasks are thin: they take ids, enter the company scope, call a service."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qbo_pipedrive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _background_limiter_waits(**kwargs):
    """Tasks may wait for a QuickBooks limiter slot longer than a web request does."""
    from integration.quickbooks.limiter import set_background

    set_background(True)


@signals.task_postrun.connect
def _foreground_again(**kwargs):
    from integration.quickbooks.limiter import set_background

    set_background(False)  # an eager task ran inside a web request: that request waits briefly again


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
