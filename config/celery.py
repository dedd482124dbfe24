"""The Celery app. Tasks are thin: they take ids, enter the company scope, call a service."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qbo_pipedrive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
