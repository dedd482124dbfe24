"""QuickBooks look-ups for the link boxes and the product link (customers and items by name)."""

from __future__ import annotations

from integration.quickbooks import entities
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboCustomer, QboItem


def _client(connection: QuickBooksConnection):
    from integration.quickbooks.services import client_for

    return client_for(connection=connection)


def customers_search(*, connection: QuickBooksConnection, term: str, limit: int = 20) -> list[QboCustomer]:
    """QBO customers whose DisplayName contains `term`, by name."""
    return entities.customers_search(_client(connection), term, limit=limit)


def items_search(*, connection: QuickBooksConnection, term: str, limit: int = 20) -> list[QboItem]:
    """QBO items whose Name contains `term`, by name."""
    return entities.items_search(_client(connection), name=term, limit=limit)


def item_get(*, connection: QuickBooksConnection, item_id: str) -> QboItem:
    """One QBO item (610 → QboNotFound)."""
    return entities.item_get(_client(connection), item_id)
