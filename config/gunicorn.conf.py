"""Gunicorn settings of the production image (the Dockerfile's CMD), also booted by scripts/check-image.sh.

PORT (default 8000), GUNICORN_HOST (default 0.0.0.0) and WEB_CONCURRENCY (default 3) may override.
"""

import os

bind = f"{os.environ.get('GUNICORN_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 (inside a container)
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Above every wait of the app (limiter 2 s in a request, QBO calls bounded by HTTP_TIMEOUT_SECONDS).
timeout = 90
accesslog = "-"
# The panel's `?token=<JWT>` and OAuth `code`/`state` never reach the access log (config/redaction.py).
logger_class = "config.redaction.RedactingGunicornLogger"
