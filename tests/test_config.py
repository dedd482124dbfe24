"""Bad configuration stops the process at start with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_SECRET_KEY": "k9#Vq2!mZ7p@Lr4$Wx8^Tn1&Bc6*Hd3(Jf5)Gs0-Ya+Ue_Io=Pl[Ck]Mb{Nv}Zq",
    "DJANGO_ALLOWED_HOSTS": "invoices.example.com",
    "DATABASE_URL": "postgres://app:app@127.0.0.1:5432/app",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "SANDBOXES_ENABLED": "false",
    "QBO_CLIENT_ID": "id",
    "QBO_CLIENT_SECRET": "secret",
    "QBO_WEBHOOK_VERIFIER_TOKEN": "verifier",
    "PIPEDRIVE_CLIENT_ID": "id",
    "PIPEDRIVE_CLIENT_SECRET": "secret",
    "PIPEDRIVE_JWT_SECRET": "jwt",
    "PIPEDRIVE_MODAL_ID": "modal-id-from-developer-hub",
}


def start(env_changes: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "QBO", "PIPEDRIVE"))}
    env.update(PRODUCTION_ENV)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is too short"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "postgres://"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
        ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS is not set"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-key"}, "FIELD_ENCRYPTION_KEYS key #1 is not a valid Fernet key"),
        ({"REDIS_URL": "http://nope"}, "REDIS_URL is malformed"),
        ({"REDIS_URL": None}, "REDIS_URL is not set"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS is not set"),
        ({"QBO_CLIENT_SECRET": None}, "QBO_CLIENT_SECRET is not set"),
        ({"PIPEDRIVE_MODAL_ID": None}, "PIPEDRIVE_MODAL_ID is not set"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_variable(changes, named):
    result = start(changes)
    assert result.returncode != 0
    assert named in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_development_defaults_start_without_any_variable():
    result = start({k: None for k in PRODUCTION_ENV if k != "DJANGO_SETTINGS_MODULE"})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_pass_the_deploy_check():
    result = start({}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
