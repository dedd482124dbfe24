"""Every shipped catalogue is complete, has no fuzzy entry, keeps every placeholder, and matches
what the code marks for translation (so `make messages` was not forgotten)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from config.catalogues import completeness, languages_table
from tests.i18n.catalogues import catalogues, placeholders, shipped_languages, source_messages, stray_percent

LANGUAGES = sorted(shipped_languages())


def _messages(language):
    return [m for m in catalogues()[language] if m.id]


def test_every_language_in_settings_ships_a_catalogue_and_no_other():
    assert set(catalogues()) == shipped_languages()
    assert {"uk", "de", "es", "fr", "pt-br", "pl", "it", "nl"} <= set(catalogues())


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_fully_translated_and_not_fuzzy(language):
    catalogue = catalogues()[language]
    assert not catalogue.fuzzy, f"{language}: the header is marked fuzzy"
    untranslated, fuzzy = [], []
    for message in _messages(language):
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert untranslated == [], f"{language}: untranslated {untranslated[:10]}"
    assert fuzzy == [], f"{language}: fuzzy {fuzzy[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_one_plural_form_per_rule_of_the_language(language):
    catalogue = catalogues()[language]
    for message in _messages(language):
        if message.pluralizable:
            assert len(message.string) == catalogue.num_plurals, (language, message.id)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language):
    broken = []
    for message in _messages(language):
        python_format = "python-format" in message.flags
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        expected = placeholders(ids[-1], python_format=python_format)
        for string in strings:
            got = placeholders(string, python_format=python_format)
            if got != expected or (python_format and stray_percent(string)):
                broken.append((ids[0], string))
    assert broken == [], f"{language}: {broken[:5]}"


@pytest.mark.parametrize(
    ("msgid", "translation", "python_format", "ok"),
    [
        ("Invoice %(number)s created", "Рахунок %(number)s створено", True, True),
        ("Invoice %(number)s created", "Рахунок %(num)s створено", True, False),
        ("Invoice %(number)s created", "Рахунок створено", True, False),
        ("%(name)s is %(rate)s%%", "%(rate)s %% — %(name)s", True, True),
        ("QuickBooks answered HTTP %s.", "QuickBooks відповів HTTP.", True, False),
        ("QuickBooks answered HTTP %s.", "QuickBooks відповів HTTP %s і %d.", True, False),
        ("Discount 10%%", "Знижка 10%", True, False),
        ("Hello {name}", "Привіт {name}", False, True),
        ("Hello {name}", "Привіт {імя}", False, False),
    ],
)
def test_placeholder_check_catches_broken_translations(msgid, translation, python_format, ok):
    same = placeholders(msgid, python_format=python_format) == placeholders(translation, python_format=python_format)
    assert (same and not (python_format and stray_percent(translation))) is ok


def test_catalogues_hold_exactly_what_the_code_marks():
    """A text marked in code but missing from the catalogues would show in English; one in the
    catalogues but gone from the code is dead weight. `make messages` re-extracts."""
    for language in LANGUAGES:
        in_catalogue = {(m.context, m.id[0] if isinstance(m.id, (list, tuple)) else m.id) for m in _messages(language)}
        marked = source_messages()
        assert marked - in_catalogue == set(), f"{language}: run `make messages` and translate"
        assert in_catalogue - marked == set(), f"{language}: stale entries; run `make messages`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_is_what_django_serves(language):
    """The .mo files are compiled from the .po (config/catalogues.py): Django answers in the language."""
    message = next(m for m in _messages(language) if m.id == "Create invoice")
    with translation.override(language):
        assert translation.gettext("Create invoice") == message.string
        assert translation.gettext("Create invoice") != "Create invoice"


def test_fuzzy_and_untranslated_are_caught(tmp_path):
    """The checks above can fail: a fuzzy or empty entry shows in the completeness numbers."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    import config.catalogues as module

    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="uk")
    catalog.add("Paid", "Сплачено")
    catalog.add("Open", "Відкритий", flags=["fuzzy"])
    catalog.add("Void", "")
    with (folder / "django.po").open("wb") as handle:
        write_po(handle, catalog)
    original = module.LOCALE_DIR
    module.LOCALE_DIR = tmp_path
    try:
        [row] = completeness()
    finally:
        module.LOCALE_DIR = original
    assert (row.total, row.translated, row.fuzzy) == (3, 1, 1)
    assert row.percent == 33


def test_readme_lists_the_languages_with_their_completeness():
    """The README's table is `make languages` output, kept true here."""
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert languages_table() in readme
    assert all(row.percent == 100 for row in completeness())
