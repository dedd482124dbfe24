"""What production refuses: the sandboxes, and secrets still holding a sandbox or example value.

Pure Python (no Django import): `config/settings.py` raises on the first problem when
`DJANGO_ENV=production`, and the `check --deploy` system check (`config/checks.py`) reports
every problem under any settings, so both speak from this one list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# (environment variable, setting name) of every credential production must hold for real.
SECRETS = [
    ("DJANGO_SECRET_KEY", "SECRET_KEY"),
    ("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEYS"),
    ("QBO_CLIENT_ID", "QBO_CLIENT_ID"),
    ("QBO_CLIENT_SECRET", "QBO_CLIENT_SECRET"),
    ("QBO_WEBHOOK_VERIFIER_TOKEN", "QBO_WEBHOOK_VERIFIER_TOKEN"),
    ("PIPEDRIVE_CLIENT_ID", "PIPEDRIVE_CLIENT_ID"),
    ("PIPEDRIVE_CLIENT_SECRET", "PIPEDRIVE_CLIENT_SECRET"),
    ("PIPEDRIVE_JWT_SECRET", "PIPEDRIVE_JWT_SECRET"),
]

# The development defaults of config/settings.py and the placeholders of .env.example. Anyone
# can read them in this repository, so a deployment holding one is not secret at all.
KNOWN_VALUES = {
    "development-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "change-me-to-50-or-more-random-characters-change-me-to-50-or-more",
    "ZGV2ZWxvcG1lbnQtb25seS1ub3Qtc2VjcmV0LWtleSE=",
    "sandbox-qbo-client-id",
    "sandbox-qbo-client-secret",
    "sandbox-qbo-verifier-token",
    "sandbox-pipedrive-client-id",
    "sandbox-pipedrive-client-secret",
    "sandbox-pipedrive-jwt-secret",
}
KNOWN_PREFIXES = ("sandbox-", "change-me", "development-only")


def _is_known(value: str) -> bool:
    value = value.strip()
    return value in KNOWN_VALUES or value.lower().startswith(KNOWN_PREFIXES)


def deployment_problems(get: Callable[[str], Any]) -> list[tuple[str, str]]:
    """(variable, message) for each setting production must refuse; `get` reads a setting by name."""
    problems = []
    if get("SANDBOXES_ENABLED"):
        problems.append(
            (
                "SANDBOXES_ENABLED",
                "SANDBOXES_ENABLED is true: production must not serve the Intuit and Pipedrive "
                "simulators nor keep their tables; set SANDBOXES_ENABLED=false",
            )
        )
    for variable, setting in SECRETS:
        value = get(setting)
        values: Iterable[str] = value if isinstance(value, list | tuple) else [value or ""]
        if any(_is_known(str(v)) for v in values):
            problems.append(
                (
                    variable,
                    f"{variable} still holds a sandbox or example value (published in this repository): "
                    "set the real value",
                )
            )
    return problems
