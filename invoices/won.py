"""Invoice when the deal is won (money loop, item 3): a company rule, off / draft / create.

Pipedrive calls `POST /webhooks/pipedrive` for deal changes (an app webhook registered with
`POST /api/v1/webhooks`, event `change.deal`, version 2.0, HTTP Basic credentials of our own per
company: Pipedrive signs nothing else). The receiver checks the credentials in constant time, stores
the delivery and answers at once; a task processes it. Both payload versions are read: v2
`{meta, data, previous}` and v1 `{"v": 1, "meta", "current", "previous", "event": "updated.deal"}`.

A deal "is won" when the current status is `won` and the previous one was not. Then:
- pre-flight decides: the deal's draft (field mapping, products) is checked like a manual create; any
  problem leaves a note on the deal (`POST /api/v1/notes`) and a flag (`WonDeal`, shown in the panel:
  "Won, not invoiced: 2 problems") and no invoice;
- rule "draft": the flag says a draft is ready (the panel's create window opens it, one click);
- rule "create": the invoice is created with the idempotency key uuid5(company, deal).

Exactly once: one `WonDeal` row per deal and one key per (company, deal). Pipedrive delivering the
event twice, or the deal being won, reopened and won again, finds the same row / key: the invoice of
the first win stands, no second one is made (a user can still create more by hand).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import uuid

from django.conf import settings
from django.utils.html import escape
from django.utils.translation import gettext as _

from integration.http import basic_credentials
from integration.pipedrive import client as pipedrive
from integration.pipedrive.selectors import installation_for
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import DealFigureFields, WonDeal
from tenants.models import Company, FieldMapping

logger = logging.getLogger(__name__)

KEY_NAMESPACE = uuid.UUID("6f1d2c1e-5b7a-4f43-9a55-7d8f0c3e2b10")  # ours; any fixed UUID works


def won_key(*, company: Company, deal_id: int) -> uuid.UUID:
    return uuid.uuid5(KEY_NAMESPACE, f"won:{company.pipedrive_company_id}:{int(deal_id)}")


# --- webhook registration and verification --------------------------------------------------------


def webhook_url() -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/webhooks/pipedrive"


def webhook_register(*, company: Company) -> DealFigureFields:
    """Register our deal-change webhook once per company (needs an admin's installation: scope admin)."""
    from invoices.deal_figure_fields import fields_config

    config = fields_config(company=company)
    if config.webhook_id:
        return config
    installation = installation_for(company=company)
    if installation is None:
        return config
    if not config.webhook_user:
        config.webhook_user = f"pd-{company.pk}-{secrets.token_hex(4)}"
        config.webhook_password = secrets.token_urlsafe(32)
        config.save(update_fields=["webhook_user", "webhook_password", "updated_at"])
    hook = pipedrive.webhook_create(
        installation=installation,
        subscription_url=webhook_url(),
        event_action="change",
        event_object="deal",
        name=_("QuickBooks invoicing: won deals"),
        http_auth_user=config.webhook_user,
        http_auth_password=config.webhook_password,
    )
    config.webhook_id = int(hook["id"])
    config.save(update_fields=["webhook_id", "updated_at"])
    return config


def company_of_basic_auth(header: str) -> Company | None:
    """The company whose webhook credentials these are (constant-time password check), else None."""
    credentials = basic_credentials(header)
    if credentials is None or not credentials[0]:
        return None
    user, password = credentials
    config = DealFigureFields.all_companies.filter(webhook_user=user).select_related("company").first()
    expected = config.webhook_password if config is not None else secrets.token_urlsafe(32)
    ok = hmac.compare_digest(password.encode(), (expected or "").encode())
    return config.company if ok and config is not None and config.webhook_password else None


# --- reading the payload --------------------------------------------------------------------------


def won_deal_id(payload: dict) -> int | None:
    """The deal id when this change moved a deal to Won (v1 or v2 payload), else None."""
    if not isinstance(payload, dict):
        return None
    given = payload.get("meta")
    meta = given if isinstance(given, dict) else {}
    if payload.get("v") == 1 or payload.get("event"):
        if payload.get("event") != "updated.deal" and not (
            meta.get("object") == "deal" and meta.get("action") == "updated"
        ):
            return None
        current, previous = payload.get("current"), payload.get("previous")
        if not isinstance(current, dict) or not isinstance(previous, dict):
            return None
        moved = current.get("status") == "won" and previous.get("status") != "won"
    else:
        if meta.get("entity") != "deal" or meta.get("action") != "change":
            return None
        current, previous = payload.get("data"), payload.get("previous")
        if not isinstance(current, dict) or not isinstance(previous, dict):
            return None
        # v2 `previous` holds only what changed: status must be among it.
        moved = current.get("status") == "won" and "status" in previous and previous.get("status") != "won"
    if not moved:
        return None
    try:
        return int(current["id"])
    except (KeyError, TypeError, ValueError):
        return None


def payload_company_id(payload: dict) -> int | None:
    given = payload.get("meta") if isinstance(payload, dict) else None
    meta = given if isinstance(given, dict) else {}
    try:
        return int(meta["company_id"])
    except (KeyError, TypeError, ValueError):
        return None


# --- processing -----------------------------------------------------------------------------------


def _note(problems: list[dict]) -> str:
    items = "".join(f"<li>{escape(p.get('message') or p.get('code') or '')}</li>" for p in problems)
    head = escape(
        _("Won, not invoiced: %(count)d problem(s) to fix before the invoice can be made.") % {"count": len(problems)}
    )
    return f"<p><b>{head}</b></p><ul>{items}</ul>"


def deal_won(*, company: Company, deal_id: int) -> WonDeal | None:
    """Apply the company's rule to a deal that was just won. Runs in the company's scope. Integration
    errors propagate (the task retries; the key keeps it exactly once)."""
    from invoices import create
    from invoices.deal_drafts import draft_from_deal
    from invoices.errors import InvoiceError

    config = DealFigureFields.objects.filter(company=company).first()
    rule = config.won_rule if config else "off"
    if rule == "off":
        return None
    key = won_key(company=company, deal_id=deal_id)
    won, _created = WonDeal.objects.get_or_create(
        company=company, deal_id=deal_id, defaults={"idempotency_key": key, "state": WonDeal.State.PROBLEMS}
    )
    if won.invoice_id or (won.state == WonDeal.State.DRAFT_READY and rule == "draft"):
        return won  # this deal's win was handled already (a duplicate, or won again after a reopen)
    connection = QuickBooksConnection.objects.filter(company=company, status=QuickBooksConnection.Status.ACTIVE).first()
    installation = installation_for(company=company)
    problems: list[dict] = []
    owner = connection.owner if connection is not None else None
    # A connection whose owner left has nobody to create as: it needs reconnecting like a missing one.
    if connection is None or installation is None or owner is None:
        message = _("QuickBooks or Pipedrive is not connected.")
        problems.append({"field": "", "code": "not_connected", "message": message})
    else:
        mapping, _m = FieldMapping.objects.get_or_create(company=company)
        draft = draft_from_deal(installation=installation, connection=connection, mapping=mapping, deal_id=deal_id)
        problems = [p.as_dict() for p in create.invoice_preflight(connection=connection, draft=draft)]
        if not problems and rule == "create":
            try:
                invoice = create.invoice_create(
                    connection=connection, draft=draft, actor=owner, idempotency_key=str(key)
                )
            except InvoiceError as exc:
                problems = [p.as_dict() for p in exc.problems] or [{"field": "", "code": exc.code, "message": str(exc)}]
            else:
                won.invoice, won.state, won.problems = invoice, WonDeal.State.INVOICED, []
                won.save()
                return won
        elif not problems:
            won.state, won.problems = WonDeal.State.DRAFT_READY, []
            won.save()
            return won
    changed = problems != won.problems or won.note_id is None
    won.state, won.problems = WonDeal.State.PROBLEMS, problems
    won.save()
    if changed and installation is not None:
        note = pipedrive.note_create(installation=installation, deal_id=deal_id, content=_note(problems))
        won.note_id = note.get("id")
        won.save(update_fields=["note_id", "updated_at"])
    return won


def delivery_process(*, company: Company, body: bytes) -> WonDeal | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if payload_company_id(payload) not in (None, company.pipedrive_company_id):
        logger.warning("pipedrive webhook for company %s arrived with another company's credentials", company.pk)
        return None
    deal_id = won_deal_id(payload)
    if deal_id is None:
        return None
    return deal_won(company=company, deal_id=deal_id)


def delivery_run(*, company: Company, delivery_id: int) -> str:
    """Process a stored Pipedrive delivery of `company` once (the task, and the sweep of deliveries no
    task finished): attempts and the last error are recorded on it. Runs in the company's scope."""
    from django.utils import timezone

    from integration.models import WebhookDelivery

    delivery = WebhookDelivery.objects.get(pk=delivery_id, service="pipedrive")
    if delivery.processed_at:
        return "done already"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    try:
        won = delivery_process(company=company, body=bytes(delivery.body))
    except Exception as exc:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=f"{exc.__class__.__name__}: {exc}"[:1000])
        raise
    WebhookDelivery.objects.filter(pk=delivery.pk).update(processed_at=timezone.now(), last_error="")
    return won.state if won else "ignored"


def flag_of(won: WonDeal | None) -> dict | None:
    """The panel's flag for a WonDeal row (the panel's lean read builds the row from its own query)."""
    if won is None:
        return None
    label = str(won.get_state_display())
    if won.state == WonDeal.State.PROBLEMS:
        label = _("Won, not invoiced: %(count)d problem(s)") % {"count": len(won.problems)}
    return {"state": won.state, "label": label, "problems": won.problems, "invoice_id": won.invoice_id}
