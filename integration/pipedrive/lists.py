"""Pipedrive's field definitions, currencies and product tax rates, cached per company for a few
minutes (issue 12): the settings page used to page through the whole product catalogue on every
visit. Entries are keyed by our company id (never shared between tenants); errors are not cached;
the settings page's Refresh button forgets them at once.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from integration.pipedrive import client as pipedrive
from integration.pipedrive.models import PipedriveInstallation
from integration.pipedrive.shapes import Currency, Entity, FieldDefinition

# Short: a field added in Pipedrive shows up by itself within minutes, or at once with Refresh.
TTL_SECONDS = getattr(settings, "PIPEDRIVE_LISTS_TTL_SECONDS", 300)
NAMES = ("fields:deal", "fields:person", "fields:organization", "fields:product", "currencies", "product_taxes")


def _key(company_id: int, name: str) -> str:
    return f"pipedrive-lists:v1:{company_id}:{name}"


def _cached(installation: PipedriveInstallation, name: str, compute: Callable[[], list]) -> list:
    key = _key(installation.company_id, name)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL_SECONDS)
    return value


def fields(*, installation: PipedriveInstallation, entity: Entity) -> list[FieldDefinition]:
    return _cached(
        installation, f"fields:{entity}", lambda: pipedrive.fields_list(installation=installation, entity=entity)
    )


def currencies(*, installation: PipedriveInstallation) -> list[Currency]:
    return _cached(installation, "currencies", lambda: list(pipedrive.currencies_list(installation=installation)))


def product_taxes(*, installation: PipedriveInstallation) -> list:
    """The distinct `tax` values of the company's products (what the settings page needs of the
    catalogue), not the catalogue itself."""

    def compute() -> list:
        return sorted({str(p.get("tax")) for p in pipedrive.products_list(installation=installation)})

    return _cached(installation, "product_taxes", compute)


def forget(*, company_id: int) -> None:
    """Drop the company's cached lists (the Refresh button)."""
    cache.delete_many([_key(company_id, name) for name in NAMES])
