"""The four deal custom fields the app owns in Pipedrive (Invoiced, Paid, Outstanding, Invoice status):
made once per company through API v2 `POST /dealFields` (`DealFigureFields`), reused when found by
name and type, and forgotten when the user deletes one. `invoices.deal_figures` writes their values."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from integration.errors import AuthRevoked, IntegrationError
from integration.locking import serialized
from integration.pipedrive import client as pipedrive
from integration.pipedrive.selectors import installation_for
from invoices.models import DealFigureFields
from invoices.status import Status
from tenants.models import Company

logger = logging.getLogger(__name__)


def _field_specs() -> list[tuple[str, str, str]]:
    """(attribute on DealFigureFields, field name in Pipedrive, field type)."""
    return [
        ("invoiced_key", _("Invoiced"), "monetary"),
        ("paid_key", _("Paid"), "monetary"),
        ("outstanding_key", _("Outstanding"), "monetary"),
        ("status_key", _("Invoice status"), "enum"),
    ]


def _status_labels() -> dict[str, str]:
    return {
        Status.OVERDUE.value: _("Overdue"),
        Status.OPEN.value: _("Open"),
        Status.PARTIALLY_PAID.value: _("Partially paid"),
        Status.PAID.value: _("Paid"),
    }


def fields_config(*, company: Company) -> DealFigureFields:
    try:
        config, _created = DealFigureFields.objects.get_or_create(company=company)
    except IntegrityError:  # made concurrently by another worker
        config = DealFigureFields.objects.get(company=company)
    return config


def deal_fields_ensure(*, company: Company) -> DealFigureFields:
    """Make the deal fields the app owns, once per company (under a row lock; fields of ours found in
    Pipedrive by name and type are reused, so a lost answer never makes a second set).

    Raises IntegrationError when Pipedrive cannot be reached (callers retry later)."""
    fields_config(company=company)
    with serialized(f"deal-figure-fields-{company.pk}"):
        config = DealFigureFields.objects.select_for_update().get(company=company)
        specs = [s for s in _field_specs() if not getattr(config, s[0]) and s[0] not in config.dismissed]
        if not config.enabled or not specs:
            return config
        installation = installation_for(company=company)
        if installation is None:
            raise AuthRevoked(_("No Pipedrive installation"), service="pipedrive", code="not_installed")
        existing = {
            (f.get("field_name"), f.get("field_type")): f
            for f in pipedrive.fields_list(installation=installation, entity="deal")
            if f.get("is_custom_field")
        }
        for attr, name, field_type in specs:
            field = existing.get((name, field_type))
            if field is None:
                options = list(_status_labels().values()) if field_type == "enum" else None
                field = pipedrive.deal_field_create(
                    installation=installation,
                    field_name=name,
                    field_type=field_type,
                    options=options,
                    description=_("Kept current by the QuickBooks invoicing app"),
                )
            setattr(config, attr, field["field_code"])
            if field_type == "enum":
                by_label = {o.get("label"): o.get("id") for o in field.get("options") or []}
                config.status_options = {s: by_label.get(label) for s, label in _status_labels().items()}
            config.last_error = ""
            config.save()  # each field as soon as it exists: a later failure keeps the earlier ones
    return config


def deal_fields_setup_later(*, company: Company) -> None:
    """At connect: make the fields in the background (a failure is retried by the first push)."""
    from invoices.tasks import setup_deal_fields

    company_id = company.pk
    transaction.on_commit(lambda: setup_deal_fields.delay(company_id=company_id))


def on_quickbooks_connected(*, company: Company, **_kwargs) -> None:
    """Receiver of `integration.quickbooks.signals.connection_connected`."""
    deal_fields_setup_later(company=company)


def deal_fields_setup(*, company: Company) -> bool:
    """At connect: the deal fields, and the won-deal webhook when that rule is on."""
    from invoices.won import webhook_register

    try:
        config = deal_fields_ensure(company=company)
        if config.won_rule != "off":
            webhook_register(company=company)
    except IntegrationError as exc:
        DealFigureFields.objects.filter(company=company).update(last_error=str(exc)[:500])
        logger.info("deal figures: fields of company %s not made yet: %s", company.pk, exc)
        return False
    return True


def forget_deleted_fields(*, config: DealFigureFields, installation) -> bool:
    """A write was refused: if the user deleted one of our fields, stop writing it (and never make
    it again). Returns True when a field was dropped, so the write is worth retrying."""
    codes = {f.get("field_code") for f in pipedrive.fields_list(installation=installation, entity="deal")}
    dropped = False
    for attr, _name, _type in _field_specs():
        key = getattr(config, attr)
        if key and key not in codes:
            setattr(config, attr, "")
            config.dismissed = sorted({*config.dismissed, attr})
            dropped = True
    if dropped:
        config.save()
    return dropped
