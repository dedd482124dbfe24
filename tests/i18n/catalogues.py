"""Reading the shipped catalogues and the messages our sources mark, for tests/i18n."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.extract import extract_python
from django.conf import settings
from django.utils.translation.template import templatize

from config.catalogues import catalogue_paths, read
from tests.i18n.scanner import ROOT, source_files

KEYWORDS = (
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
)
NAMED = re.compile(r"%\((\w+)\)[#0 +-]?\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
POSITIONAL = re.compile(r"%(?!\()[#0 +-]?\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACED = re.compile(r"\{(\w*)\}")


def language_of(path: Path) -> str:
    """Our language code ("pt-br") of a catalogue folder ("pt_BR")."""
    return path.parent.parent.name.replace("_", "-").lower()


@cache
def catalogues() -> dict[str, object]:
    return {language_of(path): read(path) for path in catalogue_paths()}


def shipped_languages() -> set[str]:
    return {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}


@dataclass(frozen=True)
class Placeholders:
    named: tuple[str, ...]
    positional: tuple[str, ...]
    braced: tuple[str, ...]


def placeholders(text: str, *, python_format: bool) -> Placeholders:
    """What must survive translation. In a python-format message "%%" is a literal percent sign and
    every other "%" starts a placeholder; in others only {name} placeholders count."""
    if not python_format:
        return Placeholders((), (), tuple(sorted(BRACED.findall(text))))
    # How many literal "%%" a sentence needs differs by language (100 %% vs 100%%): not compared.
    rest = text.replace("%%", "")
    return Placeholders(
        tuple(sorted(NAMED.findall(rest))), tuple(POSITIONAL.findall(rest)), tuple(sorted(BRACED.findall(rest)))
    )


def stray_percent(text: str) -> bool:
    """A single "%" that is neither "%%" nor a placeholder: Python's % operator would fail on it."""
    rest = NAMED.sub("", text.replace("%%", ""))
    rest = POSITIONAL.sub("", rest)
    return "%" in rest


@cache
def source_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message our shipped sources mark: Python through Babel's extractor,
    templates through Django's own templatize (what makemessages feeds xgettext)."""
    found: set[tuple[str | None, str]] = set()
    for path in source_files("*.py") + source_files("*.html"):
        text = path.read_text()
        if path.suffix == ".html":
            text = templatize(text, origin=str(path.relative_to(ROOT)))
        for _line, func, message, _comments in extract_python(io.BytesIO(text.encode()), KEYWORDS, [], {}):
            parts = message if isinstance(message, tuple) else (message,)
            context = parts[0] if func.startswith(("pgettext", "npgettext")) else None
            msgid = parts[1] if context is not None else parts[0]
            if msgid:
                found.add((context, msgid))
    return found
