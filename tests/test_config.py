"""Bad configuration stops the process at start with a message naming the variable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.deploy import SECRETS

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


# --- production refuses the sandboxes and published secret values (issue 10) ---

DEVELOPMENT_DEFAULTS_SCRIPT = """
import json
from django.conf import settings
from config.deploy import SECRETS
values = {}
for variable, setting in SECRETS:
    value = getattr(settings, setting)
    values[variable] = ",".join(value) if isinstance(value, list) else value
print(json.dumps(values))
"""


def development_defaults() -> dict[str, str]:
    """The value each secret takes when nothing is set (the sandboxes' own credentials)."""
    result = start(
        {k: None for k in PRODUCTION_ENV if k != "DJANGO_SETTINGS_MODULE"}, "shell", "-c", DEVELOPMENT_DEFAULTS_SCRIPT
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_refuses_to_start_with_the_sandboxes_on():
    result = start({"SANDBOXES_ENABLED": "true"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: SANDBOXES_ENABLED is true" in result.stderr


def test_production_refuses_every_development_default_secret_naming_it():
    defaults = development_defaults()
    # Every secret has a published default in development: that is what must never reach production.
    assert set(defaults) == {
        "DJANGO_SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "QBO_CLIENT_ID",
        "QBO_CLIENT_SECRET",
        "QBO_WEBHOOK_VERIFIER_TOKEN",
        "PIPEDRIVE_CLIENT_ID",
        "PIPEDRIVE_CLIENT_SECRET",
        "PIPEDRIVE_JWT_SECRET",
    }
    for variable, value in defaults.items():
        assert value, variable
        result = start({variable: value})
        assert result.returncode != 0, variable
        assert f"ImproperlyConfigured: {variable} still holds a sandbox or example value" in result.stderr, variable


def test_production_refuses_the_env_example_as_it_is():
    """A .env copied from the example and not filled in must not start: each secret is named."""
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and line[0] != "#"
    )
    assert example["SANDBOXES_ENABLED"] == "false"
    for variable, _setting in SECRETS:
        if variable == "PIPEDRIVE_JWT_SECRET":
            continue  # empty is legitimate: Pipedrive then signs with the client secret
        result = start({variable: example[variable]})
        assert result.returncode != 0, variable
        assert f"ImproperlyConfigured: {variable} " in result.stderr, (variable, result.stderr[-300:])
    # The old example's placeholder key, in .env files copied from it, is refused too.
    result = start({"DJANGO_SECRET_KEY": "change-me-to-50-or-more-random-characters-change-me-to-50-or-more"})
    assert "DJANGO_SECRET_KEY still holds a sandbox or example value" in result.stderr
    # ... while an empty JWT secret starts: the client secret signs the extensions' tokens then.
    assert start({"PIPEDRIVE_JWT_SECRET": ""}).returncode == 0


def test_deploy_check_reports_the_sandboxes_and_each_default_secret():
    """`check --deploy` says the same under settings that do not refuse to start (development)."""
    result = start({k: None for k in PRODUCTION_ENV if k != "DJANGO_SETTINGS_MODULE"}, "check", "--deploy")
    assert result.returncode != 0
    assert "SANDBOXES_ENABLED: (config.E001) SANDBOXES_ENABLED is true" in result.stderr
    for variable in development_defaults():
        assert f"{variable}: (config.E002) {variable} still holds a sandbox or example value" in result.stderr


# --- the sandboxes' apps, tables and URLs exist only when they are on ---

SANDBOX_LABELS = ("qbo_sandbox", "pipedrive_sandbox")
APPS_AND_URLS_SCRIPT = """
from django.apps import apps
from django.urls import Resolver404, resolve
try:
    resolve("/sandbox/quickbooks/")
    sandbox_urls = True
except Resolver404:
    sandbox_urls = False
print(sorted(config.label for config in apps.get_app_configs()), "sandbox_urls", sandbox_urls)
"""


def test_production_installs_no_sandbox_app_and_mounts_no_sandbox_url():
    production = start({}, "shell", "-c", APPS_AND_URLS_SCRIPT)
    assert production.returncode == 0, production.stderr
    assert "'tenants'" in production.stdout
    assert not any(label in production.stdout for label in SANDBOX_LABELS), production.stdout
    assert "sandbox_urls False" in production.stdout

    development = start(
        {k: None for k in PRODUCTION_ENV if k != "DJANGO_SETTINGS_MODULE"}, "shell", "-c", APPS_AND_URLS_SCRIPT
    )
    assert development.returncode == 0, development.stderr
    assert all(label in development.stdout for label in SANDBOX_LABELS), development.stdout
    assert "sandbox_urls True" in development.stdout


def test_production_migrate_plan_has_no_sandbox_migration(tmp_path):
    """The sandboxes' tables never reach a production database: migrate would not create them."""
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'plan.sqlite3'}"}
    production = start(database, "migrate", "--plan")
    assert production.returncode == 0, production.stderr
    assert "tenants.0001_initial" in production.stdout
    assert not any(label in production.stdout for label in SANDBOX_LABELS), production.stdout

    development = start({**database, "DJANGO_ENV": "development", "SANDBOXES_ENABLED": None}, "migrate", "--plan")
    assert development.returncode == 0, development.stderr
    assert all(f"{label}.0001_initial" in development.stdout for label in SANDBOX_LABELS)


def test_collectstatic_with_the_production_storage_hashes_the_sdk_and_its_source_map(tmp_path, settings):
    """The image's collectstatic step: every file a static file names must exist (the SDK names its map)."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)

    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    sdk = paths["vendor/pipedrive-app-extensions-sdk/index.umd.js"]
    source_map = paths["vendor/pipedrive-app-extensions-sdk/index.umd.js.map"]
    assert sdk != "vendor/pipedrive-app-extensions-sdk/index.umd.js"
    assert (tmp_path / sdk).read_text().rstrip().endswith(f"//# sourceMappingURL={source_map.rsplit('/', 1)[1]}")
    assert (tmp_path / f"{sdk}.gz").exists()
