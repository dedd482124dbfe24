"""Tokens in URLs never reach a log line (issue 17): gunicorn's access log and Django's loggers."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from config.redaction import RedactingGunicornLogger, RedactSecretsFilter, redact
from tests.personas import panel_token

ROOT = Path(__file__).resolve().parents[2]


def test_redact_query_secrets_and_jwts():
    jwt = panel_token(company_id=1001, user_id=11)
    line = f"GET /panel/deal?token={jwt}&companyId=1001&selectedIds=5 HTTP/1.1"
    assert redact(line) == "GET /panel/deal?token=[redacted]&companyId=1001&selectedIds=5 HTTP/1.1"
    assert redact("/pipedrive/callback?code=abc123&state=s-1") == "/pipedrive/callback?code=[redacted]&state=[redacted]"
    assert redact("/login?next=%2Fpanel%3Ftoken%3Dsecret") == "/login?next=%2Fpanel%3Ftoken%3D[redacted]"
    assert jwt not in redact(f"Bearer {jwt}")
    assert redact("/api/v1/deals/5/invoices?zipcode=1") == "/api/v1/deals/5/invoices?zipcode=1"


def test_gunicorn_access_log_is_redacted(tmp_path):
    jwt = panel_token(company_id=1001, user_id=11)
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s "%(f)s" %(q)s %({authorization}i)s')
    logger = RedactingGunicornLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/panel/deal?token={jwt}",
        "PATH_INFO": "/panel/deal",
        "QUERY_STRING": f"token={jwt}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://x.pipedrive.com/pipedrive/callback?code=the-code&state=the-state",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {jwt}")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    logger.access(response, request, environ, dt.timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = log_file.read_text()
    assert "/panel/deal?token=[redacted]" in written
    assert jwt not in written and "the-code" not in written and "the-state" not in written


def test_django_log_records_are_redacted(caplog):
    jwt = panel_token(company_id=1001, user_id=11)
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s', (f"GET /panel/deal?token={jwt}", 200), None
    )
    assert RedactSecretsFilter().filter(record)
    assert record.getMessage() == '"GET /panel/deal?token=[redacted]" 200'


def test_the_console_handler_redacts(settings):
    handlers = settings.LOGGING["handlers"]["console"]["filters"]
    assert "redact" in handlers
    assert settings.LOGGING["loggers"]["django.server"]["handlers"] == ["console"]


def test_the_images_gunicorn_uses_the_redacting_logger():
    """The Dockerfile's CMD loads config/gunicorn.conf.py: its access log must be the redacting one."""
    cfg = Config()
    namespace: dict = {}
    exec(compile((ROOT / "config/gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    cfg.set("logger_class", namespace["logger_class"])
    assert cfg.logger_class is RedactingGunicornLogger
    assert "config/gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()
