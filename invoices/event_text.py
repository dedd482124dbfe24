"""The history's sentences, rendered when read, in the reader's language (issue 14).

An event is written by whoever caused it: a member's request in their language, or background work
(a Celery sync, a webhook, the overdue sweep) in none. So an event stores what happened, not a
sentence: `data["text"]` is a list of parts `{"id": <key of TEXTS>, "args": {...}}` with the args raw
(status codes, ISO dates, amounts as strings). `render` turns them into the active language's
sentence at read time: statuses through `invoices.status.LABELS`, dates with Django's localized
`DATE_FORMAT`, money with `invoices.money`. Parts are joined by ". " (a status move, then what
became of its payments).

`message` is still filled, with the English rendering: for the admin's search and as the fallback.
Rows without a text id (written before this, or a free-form error from QuickBooks on a failed
create) show their stored message, except the ones whose data says it all (a status move with its
from/to and source, the overdue sweep with its due date, a deal link): those are rendered too, so
existing rows follow the reader's language without a data migration.

Every writer goes through `record_event`, so the rule lives here once.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop

from integration.errors import Said, said_again
from invoices.models import Invoice, InvoiceEvent
from invoices.money import format_amount, format_money
from invoices.status import LABELS, Status

Part = dict[str, Any]

# How an arg is written for the reader; anything not named here is shown as stored.


def _status(value, args: dict) -> str:
    return str(LABELS[Status(value)])


def _date(value, args: dict) -> str:
    return date_format(dt.date.fromisoformat(value))


def _money(value, args: dict) -> str:
    return format_money(value, args.get("currency") or "")


def _amount(value, args: dict) -> str:
    return format_amount(value, args.get("currency") or "")


def _said(value, args: dict) -> str:
    """One of our sentences stored with its msgid and params (integration.errors.Said), in the
    reader's language; anything else (QuickBooks' own words, older rows) as it came."""
    return said_again(value)


def _customer(value, args: dict) -> str:
    return str(value) if value else gettext("the customer")


@dataclass(frozen=True)
class Text:
    msgid: str
    formats: dict[str, Callable[[Any, dict], str]] = field(default_factory=dict)


# Every sentence an event can say. The msgids are extracted by `make messages` (gettext_noop) and
# translated in locale/; a key, once written to the database, is never renamed or removed.
TEXTS: dict[str, Text] = {
    "status_moved": Text(gettext_noop("%(old)s → %(new)s in %(source)s"), {"old": _status, "new": _status}),
    "overdue": Text(gettext_noop("Open → Overdue (due %(date)s)"), {"date": _date}),
    "found": Text(gettext_noop("Found in QuickBooks")),
    "amount_changed": Text(
        gettext_noop("Amount changed in QuickBooks: %(old)s → %(new)s"), {"old": _money, "new": _money}
    ),
    "adopted": Text(gettext_noop("In QuickBooks as %(number)s; finishing the creation here.")),
    "created": Text(gettext_noop("Created in QuickBooks as %(number)s")),
    "emailed": Text(gettext_noop("Sent to %(email)s")),
    "emailed_cc": Text(gettext_noop("Sent to %(email)s, copy to %(cc)s")),
    "linked": Text(gettext_noop("Linked to deal %(deal)s")),
    "unlinked": Text(gettext_noop("Unlinked from deal %(deal)s")),
    "create_slow": Text(
        gettext_noop("QuickBooks is answering slowly; the invoice is being created in the background.")
    ),
    # `reason`: one of our sentences (rendered for the reader), or QuickBooks' own text (as it came).
    "create_delayed": Text(
        gettext_noop(
            "Delayed: QuickBooks is not accepting it yet (attempt %(n)s: %(reason)s). It is retried automatically."
        ),
        {"reason": _said},
    ),
    "create_unavailable": Text(gettext_noop("QuickBooks is unavailable; retrying automatically.")),
    "unapplied_credit": Text(
        gettext_noop("The payment of %(amount)s %(currency)s is now unapplied credit for %(customer)s in QuickBooks."),
        {"amount": _amount, "customer": _customer},
    ),
}
# A sentence of ours carried whole (integration.errors.Said: msgid and params), e.g. the pre-flight
# problem that failed a create on a retry. "%(text)s" is a frame, not a text: it is not translated.
TEXTS["said"] = Text("%(text)s", {"text": _said})
SEPARATOR = ". "


def _raw(value):
    """An arg as JSON stores it: numbers and booleans as they are, anything else (Decimal, date,
    lazy text) as its string."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Said):
        return value.as_json()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def part(text_id: str, **args) -> Part:
    """One sentence of an event: the key of its text and its raw args."""
    if text_id not in TEXTS:
        raise KeyError(f"unknown history text {text_id!r}")
    return {"id": text_id, "args": {name: _raw(value) for name, value in args.items()}}


def _render_part(piece: Part) -> str:
    args = piece.get("args") or {}
    # The args as sorted JSON: hashable for the cache, nested values (a Said's params) included.
    return _rendered(translation.get_language(), piece["id"], orjson.dumps(args, option=orjson.OPT_SORT_KEYS))


@functools.lru_cache(maxsize=4096)
def _rendered(language: str | None, text_id: str, args_json: bytes) -> str:
    """One part in `language` (the active one: the cache key). The panel renders up to 20 events per
    invoice and the same few lines repeat (status moves), so each is worked out once per process."""
    text = TEXTS[text_id]
    args = orjson.loads(args_json)
    values = {name: text.formats[name](value, args) if name in text.formats else value for name, value in args.items()}
    return gettext(text.msgid) % values  # a mapping: a text without placeholders is left as it is


def render_parts(parts: list[Part]) -> str:
    """The parts in the active language."""
    return SEPARATOR.join(_render_part(piece) for piece in parts)


def english(parts: list[Part]) -> str:
    """The parts in English: what `message` stores."""
    with translation.override("en"):
        return render_parts(parts)


def parts_of(data) -> list[Part]:
    """The text parts an event's data holds ([] for none)."""
    parts = data.get("text") if isinstance(data, dict) else None
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


_STATUS_KINDS = {InvoiceEvent.Kind.STATUS_CHANGED, InvoiceEvent.Kind.VOIDED, InvoiceEvent.Kind.DELETED}
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _parts_of_old_row(kind: str, message: str, data: dict) -> list[Part]:
    """The parts of a row written before `data["text"]`, when its data and message say them all."""
    old, new = data.get("from"), data.get("to")
    if kind in _STATUS_KINDS and "unapplied_credit" not in data:
        known = Status._value2member_map_  # from/to are JSON: anything but a str (a list) is unhashable
        if not (isinstance(old, str) and isinstance(new, str) and old in known and new in known):
            return []
        # The source is a product name, never translated: it names itself in any language's message.
        for source in ("QuickBooks", "Pipedrive"):
            if source in message:
                return [part("status_moved", old=old, new=new, source=source)]
        date = _ISO_DATE.search(message)  # the overdue sweep wrote the due date as ISO in every language
        if (old, new) == (Status.OPEN, Status.OVERDUE) and date:
            return [part("overdue", date=date.group())]
        return []
    if kind in {InvoiceEvent.Kind.LINKED, InvoiceEvent.Kind.UNLINKED} and isinstance(data.get("deal_id"), int):
        return [part(str(kind), deal=data["deal_id"])]
    return []


def parts_for(kind: str, message: str, data: dict) -> list[Part]:
    """An event's text parts: stored, or worked out from an older row's data and message."""
    return parts_of(data) or _parts_of_old_row(kind, message, data)


def render(kind: str, message: str, data) -> str:
    """The event's line in the active language; the stored message when it has no known text."""
    if isinstance(data, str):  # a JSON column read as text
        import json

        try:
            data = json.loads(data)
        except ValueError:
            return message
    if not isinstance(data, dict):
        return message
    parts = parts_for(kind, message, data)
    if not parts:
        return message
    try:
        return render_parts(parts)
    except (KeyError, TypeError, ValueError, AttributeError):  # a text or arg this code does not know
        return message


def shown_error(*, state: str, last_error: str, history: list[dict]) -> str:
    """The invoice's error line in the reader's language. A create waiting for QuickBooks (or one that
    failed) stores its reason in `last_error` in the writer's language (a background retry: English);
    the same reason is its newest "waiting" (or "failed") event, which `history` (newest first,
    rendered) has in the reader's: our sentences translated, QuickBooks' own words as they came."""
    waiting: dict[str, str] = {
        Invoice.State.PENDING: InvoiceEvent.Kind.CREATE_PENDING,
        Invoice.State.FAILED: InvoiceEvent.Kind.CREATE_FAILED,
    }
    kind = waiting.get(state)
    if kind is not None and last_error:
        for event in history:
            if event["kind"] == kind:
                return event["message"]
    return last_error


def record_event(
    *,
    invoice: Invoice,
    kind: str,
    actor=None,
    text: list[Part] | None = None,
    message: str = "",
    data: dict | None = None,
) -> InvoiceEvent:
    """Write a history event: its text parts in `data["text"]` and in English in `message`.
    `message` alone is for free-form text that is not ours to translate (QuickBooks' error)."""
    data = dict(data or {})
    if text:
        data["text"] = text
        message = english(text)
    return InvoiceEvent.objects.create(
        company_id=invoice.company_id,
        invoice=invoice,
        kind=kind,
        actor=actor,
        message=message[:500],
        data=data,
    )
