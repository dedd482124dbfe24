"""The translation catalogues in locale/: compile them and report how complete they are.

Pure Python (Babel), no gettext tools and no Django settings, so a fresh clone, CI and the image
build compile the same way:

    python -m config.catalogues compile   # locale/*/LC_MESSAGES/django.po → django.mo (only when stale)
    python -m config.catalogues stats     # the README's languages table (tests/i18n keeps it true)

The .mo files are build output (git-ignored): `make test`, `make run` and scripts/build-image.sh
compile them, and so does the test session itself (tests/conftest.py) when they are missing or older
than their .po. Re-extracting after changing texts is `make messages` (needs GNU gettext's xgettext).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "django"


def catalogue_paths() -> list[Path]:
    """Every shipped catalogue, one per language folder, sorted by language."""
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name, domain=DOMAIN)


def compile_catalogues(*, force: bool = False) -> list[Path]:
    """Write each stale .mo next to its .po (atomically: parallel test workers may race here).
    Fuzzy entries are left out, as msgfmt does. Returns the files written."""
    from babel.messages.mofile import write_mo

    written = []
    for po in catalogue_paths():
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = read(po)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            os.replace(tmp, mo)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(mo)
    return written


@dataclass(frozen=True)
class Completeness:
    language: str
    total: int
    translated: int
    fuzzy: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.translated / self.total)


def completeness() -> list[Completeness]:
    """Per catalogue: messages, translated (not fuzzy, every plural form filled) and fuzzy."""
    result = []
    for po in catalogue_paths():
        messages = [m for m in read(po) if m.id]
        translated = [
            m
            for m in messages
            if not m.fuzzy and (all(m.string) if isinstance(m.string, (list, tuple)) else bool(m.string))
        ]
        fuzzy = [m for m in messages if m.fuzzy]
        result.append(Completeness(po.parent.parent.name, len(messages), len(translated), len(fuzzy)))
    return result


def languages_table() -> str:
    """The README's table of languages (English is the source language: always complete)."""
    from config.languages import LANGUAGES

    names = dict(LANGUAGES)
    rows = ["| Language | Code | Catalogue | Translated |", "|---|---|---|---|"]
    rows.append(f"| {names['en']} | `en` | (source) | 100% |")
    order = [code for code, _name in LANGUAGES]
    items = sorted(completeness(), key=lambda i: order.index(_code(i.language)) if _code(i.language) in order else 99)
    for item in items:
        code = _code(item.language)
        rows.append(
            f"| {names.get(code, code)} | `{code}` | `locale/{item.language}/` | "
            f"{item.percent}% ({item.translated}/{item.total}) |"
        )
    return "\n".join(rows)


def _code(folder: str) -> str:
    return folder.replace("_", "-").lower()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "compile"
    if command == "compile":
        written = compile_catalogues(force="--force" in argv)
        print(f"compiled {len(written)} catalogue(s)" if written else "catalogues up to date")
        return 0
    if command == "stats":
        print(languages_table())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
