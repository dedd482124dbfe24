"""Test settings: the real settings plus small, test-only overrides."""

import os

# Hermetic: the default PUBLIC_BASE_URL (http://127.0.0.1:8000) is where `make run` serves the demo,
# so tests would talk to it whenever it runs. "testserver" is the Django test client's host: it
# resolves nowhere, so a call that escapes a test's live server fails the same way on every machine,
# whatever listens on any port. Tests that need real HTTP use the live server (sandbox_base_url).
os.environ["PUBLIC_BASE_URL"] = "http://testserver"

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, SANDBOX_APPS

# Tests talk to the sandboxes, so their apps are installed whatever SANDBOXES_ENABLED says.
INSTALLED_APPS = [*INSTALLED_APPS, *(app for app in SANDBOX_APPS if app not in INSTALLED_APPS), "tests.testapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline in tests unless a test starts a real worker on the configured broker.
# (A test's worker subprocess sets CELERY_TASK_ALWAYS_EAGER=false: it sends tasks like production.)
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "true").lower() != "false"
SANDBOXES_ENABLED = True
HEAL_ON_WORKER_START = False  # a test's worker runs only the tasks the test sends
# Off: a test inside a rolled-back transaction never commits, so PostgreSQL would never send the
# notices that drop remembered answers. tests/invoices/test_panel_cache.py turns it on; the benchmark's
# server (committed data, bench/bench_panel_api.py) through PANEL_CACHE_BYTES_IN_TESTS.
PANEL_CACHE_BYTES = int(os.environ.get("PANEL_CACHE_BYTES_IN_TESTS", "0"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's shared in-memory database: threads (the live server, concurrency tests)
    # then get real locking with a busy timeout instead of "database table is locked" at once.
    # WAL lets readers and the writer proceed together; durability does not matter for tests.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {}).update(  # noqa: F405
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF"}
    )
