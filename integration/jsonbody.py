"""JSON text in which a `Decimal` is written as the exact number it holds, never through float().

Every JSON body we send to QuickBooks or Pipedrive (`integration.http` sessions, `json=`) and every
answer of the invoicing extension's reverse API goes through `dumps`, so money and quantities can
stay `Decimal` up to the wire: `Decimal("199.99")` is written `199.99`, `Decimal("0.10")` `0.10`.
Everything else is written exactly as `json.dumps` writes it (same separators, ASCII, no NaN).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """`json.dumps(value)`, except that Decimals are exact JSON numbers (a non-finite one is refused)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(key)}: {dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    return json.dumps(value, allow_nan=False)


def _key(key: Any) -> str:
    # json.dumps writes non-string keys (int, bool, None) as the JSON text of the key, quoted.
    return json.dumps(key if isinstance(key, str) else json.dumps(key))


def as_received(value: Any) -> Any:
    """`value` as the other side parses our JSON (what we record as written, to compare with later)."""
    return json.loads(dumps(value))
