"""gunicorn settings (`gunicorn -c config/gunicorn.py config.wsgi:application`).

Command-line flags still win; this file makes the access log safe: the panel's `?token=<JWT>`
and OAuth `code`/`state` are redacted (config.redaction)."""

logger_class = "config.redaction.RedactingGunicornLogger"
accesslog = "-"
