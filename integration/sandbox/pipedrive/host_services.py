"""Services of the simulated Pipedrive web app: uninstall delivery and custom UI iframe URLs."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from integration.http import make_session
from integration.sandbox.pipedrive import app_config, services
from integration.sandbox.pipedrive.models import (
    SandboxAccessToken,
    SandboxCompany,
    SandboxRecord,
    SandboxUninstallDelivery,
    SandboxUser,
)

logger = logging.getLogger(__name__)


def panel_url() -> str:
    """Our custom panel's iframe URL as registered in the sandbox's Developer Hub (app_config)."""
    return app_config.panel().url


def modal_url() -> str:
    """Our custom modal's iframe URL as registered in the sandbox's Developer Hub (app_config)."""
    return app_config.modal().url


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def iframe_src(
    *, base: str, user: SandboxUser, deal_id: int, theme: str | None = None, extension: str = "panel"
) -> str:
    """The iframe URL Pipedrive builds for a custom UI extension on a deal detail view (reference §3.5);
    `extension` ("panel"/"modal") picks whose JWT secret signs the token."""
    params = {
        "id": str(uuid.uuid4()),  # runtime id the SDK must echo in every message
        "userId": str(user.id),
        "companyId": str(user.company_id),
        "resource": "deal",
        "view": "details",
        "selectedIds": str(deal_id),
        "theme": "dark" if theme == "dark" else "light",
        "token": services.extension_token(user=user, extension=extension),
    }
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(params)}"


def uninstall(*, user: SandboxUser) -> SandboxUninstallDelivery:
    """Uninstall the app for `user`: revoke their grants, then send Pipedrive's uninstall request —
    `DELETE <callback>` with a JSON body and Basic client_id:client_secret (reference §1.7).
    Pipedrive ignores the answer; we keep it for the control page."""
    for grant in user.grants.filter(revoked_at__isnull=True):
        services.grant_revoke(grant=grant)
    url = services.registered_callback_url()
    # Types of the ids/timestamp are undocumented (reference §8): numbers and RFC 3339 here.
    body = {
        "client_id": settings.PIPEDRIVE_CLIENT_ID,
        "company_id": user.company_id,
        "user_id": user.id,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
    }
    delivery = SandboxUninstallDelivery(company_id=user.company_id, user=user, url=url, body=body)
    session = make_session(service="pipedrive-sandbox", timeout=10)
    try:
        # https://pipedrive.readme.io/docs/app-uninstallation
        response = session.delete(url, json=body, auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET))
        delivery.status = response.status_code
    except requests.RequestException as exc:
        delivery.error = exc.__class__.__name__
        logger.warning("uninstall delivery to %s failed: %s", url, delivery.error)
    delivery.save()
    return delivery


def _custom_fields(*, company: SandboxCompany, deal: SandboxRecord) -> list[dict]:
    """The deal's custom fields with a value, as Pipedrive's deal "Details" card lists them (name,
    value; a monetary field with its currency, an option field with its label)."""
    from integration.sandbox.pipedrive.models import SandboxField

    values = deal.data.get("custom_fields") or {}
    shown = []
    for field in SandboxField.objects.filter(company=company, entity="deal").order_by("order"):
        value = values.get(field.field_code)
        if value in (None, "", []):
            continue
        if isinstance(value, dict):
            value = f"{value.get('value')} {value.get('currency') or ''}".strip()
        elif field.data.get("options"):  # one option id, or a list of them (set fields)
            labels = {o.get("id"): o.get("label") for o in field.data["options"]}
            chosen = value if isinstance(value, list) else [value]
            value = ", ".join(str(labels.get(v, v)) for v in chosen)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append(
            {"name": field.data.get("field_name") or field.field_code, "code": field.field_code, "value": value}
        )
    return shown


def deal_context(*, company: SandboxCompany, deal: SandboxRecord) -> dict:
    """What the deal detail page shows beside our panel: deal, organization, person, products."""

    def get(kind: str, object_id) -> dict | None:
        if not object_id:
            return None
        record = SandboxRecord.objects.filter(company=company, kind=kind, object_id=object_id).first()
        return record.data if record else None

    lines = [
        r.data
        for r in SandboxRecord.objects.filter(company=company, kind="deal_product", parent_id=deal.object_id).order_by(
            "object_id"
        )
    ]
    return {
        "deal": deal.data,
        "details": _custom_fields(company=company, deal=deal),
        "organization": get("organization", deal.data.get("org_id")),
        "person": get("person", deal.data.get("person_id")),
        "lines": lines,
        "value": Decimal(str(deal.data.get("value") or 0)),
    }


def company_limits_set(*, company: SandboxCompany, burst_limit: int, daily_budget: int, reset_usage: bool) -> None:
    """Change a company's rate limits (test control); `reset_usage` zeroes today's budget use and
    every token's burst window."""
    company.burst_limit = burst_limit
    company.daily_budget = daily_budget
    fields = ["burst_limit", "daily_budget"]
    if reset_usage:
        company.budget_used = 0
        fields.append("budget_used")
        SandboxAccessToken.objects.filter(grant__user__company=company).update(window_started_at=None, window_count=0)
    company.save(update_fields=fields)


def company_outage_set(*, company: SandboxCompany, status: int) -> None:
    """Test control: every API call of `company` answers `status` (0 = healthy again)."""
    company.api_outage_status = status
    company.save(update_fields=["api_outage_status"])
