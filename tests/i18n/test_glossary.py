"""Each catalogue uses its language's glossary (locale/glossary/<language>.md): the terms Pipedrive
and QuickBooks use, in every message that has them, and the exact labels of statuses and actions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.i18n.catalogues import NAMED, catalogues, shipped_languages
from tests.i18n.scanner import ROOT

GLOSSARY_DIR = ROOT / "locale" / "glossary"


def glossary(language: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(terms as (English word, stem), labels as {msgid: translation}) from the glossary page."""
    folder = language.split("-")[0] + ("_" + language.split("-")[1].upper() if "-" in language else "")
    text = (GLOSSARY_DIR / f"{folder}.md").read_text()
    terms_part = text.split("## Terms", 1)[1].split("## Labels", 1)[0]
    labels_part = text.split("## Labels", 1)[1]
    terms = [(row[0], row[2]) for row in _rows(terms_part) if len(row) == 3]
    labels = {row[0]: row[1] for row in _rows(labels_part) if len(row) == 2}
    return terms, labels


def _rows(part: str) -> list[list[str]]:
    rows = []
    for line in part.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # the header


def _words(msgid: str) -> str:
    return NAMED.sub(" ", msgid)  # "%(customer)s" is not the word "customer"


def term_misses(language: str) -> list[tuple[str, str, str]]:
    terms, _labels = glossary(language)
    misses = []
    for message in catalogues()[language]:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        for word, stem in terms:
            if re.search(rf"\b{re.escape(word)}s?\b", _words(ids[0]), re.IGNORECASE):
                misses += [(word, ids[0], s) for s in strings if stem.lower() not in s.lower()]
    return misses


LANGUAGES = sorted(shipped_languages())


def test_every_shipped_language_has_a_glossary():
    names = {path.stem.replace("_", "-").lower() for path in Path(GLOSSARY_DIR).glob("*.md")}
    assert names == shipped_languages()


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_uses_the_glossary_terms(language):
    terms, _labels = glossary(language)
    assert {"invoice", "deal", "customer"} <= {word for word, _stem in terms}
    assert term_misses(language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_uses_the_glossary_labels(language):
    _terms, labels = glossary(language)
    assert len(labels) >= 15
    translated = {m.id: m.string for m in catalogues()[language] if m.id and isinstance(m.id, str)}
    missing = [msgid for msgid in labels if msgid not in translated]
    assert missing == [], f"glossary labels no longer in the code: {missing}"
    wrong = {msgid: translated[msgid] for msgid, term in labels.items() if translated[msgid] != term}
    assert wrong == {}


def test_ukrainian_glossary_is_the_issues_wording():
    """Issue 14 gives the Ukrainian terms of Pipedrive's own help article on this integration."""
    terms, labels = glossary("uk")
    assert dict(terms)["invoice"] == "рахун" and dict(terms)["deal"] == "угод"
    assert {
        "Open": "Відкритий",
        "Paid": "Сплачено",
        "Voided": "Скасований",
        "Overdue": "Прострочено",
        "Deleted": "Видалений",
        "Partially paid": "Частково сплачено",
        "Void": "Скасувати",
        "Delete": "Видалити",
        "Send by email": "Надіслати по електронній пошті",
        "Download PDF": "Завантажити PDF",
        "Open in QuickBooks": "Відкрити в QuickBooks",
        "Save": "Зберегти",
        "Create invoice": "Створити рахунок",
        "Lines": "Позиції рахунка",
        "Invoice details": "Деталі рахунка",
        "Customer details from Pipedrive": "Деталі клієнта з Pipedrive",
        "Due date": "Дата сплати",
        "Customer tax ID": "ІПН клієнта",
        "History": "Журнал змін",
    }.items() <= labels.items()
    assert labels["View all invoices of this contact"].startswith("Переглянути всі рахунки")


def test_term_check_catches_an_off_glossary_translation(monkeypatch):
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="uk")
    catalog.add("Invoice %(number)s sent", "Інвойс %(number)s надіслано")  # not the glossary's рахунок
    catalog.add("Send to %(customer)s", "Надіслати %(customer)s")  # a placeholder, not the word
    monkeypatch.setattr("tests.i18n.test_glossary.catalogues", lambda: {"uk": catalog})
    assert term_misses("uk") == [("invoice", "Invoice %(number)s sent", "Інвойс %(number)s надіслано")]
