"""Every user-facing text in our templates, Python and JavaScript is marked for translation
(scanners and their reasoned allow-list in tests/i18n/scanner.py). Each scanner is also shown to
catch an unmarked text, so a scanner that finds nothing cannot pass by accident."""

from __future__ import annotations

import pytest

from tests.i18n import scanner


def _unexpected(findings):
    return [str(f) for f in findings if (f.path, f.text) not in scanner.ALLOWED]


def test_templates_have_no_unmarked_text():
    files = scanner.source_files("*.html")
    assert len(files) > 20
    assert _unexpected(f for path in files for f in scanner.template_findings(path)) == []


def test_python_passes_no_unmarked_text_to_users():
    files = scanner.source_files("*.py")
    assert len(files) > 50
    assert _unexpected(f for path in files for f in scanner.python_findings(path)) == []


def test_panel_scripts_take_every_text_from_the_catalogue():
    files = scanner.source_files("*.js")
    assert {"static/panel/panel.js", "static/panel/modal.js", "static/panel/common.js"} <= {
        str(p.relative_to(scanner.ROOT)) for p in files
    }
    assert _unexpected(f for path in files for f in scanner.javascript_findings(path)) == []


def test_allow_list_entries_still_exist():
    """A stale allow-list entry would hide nothing but mislead: each must still be found."""
    found = {
        (f.path, f.text)
        for pattern, scan in (
            ("*.html", scanner.template_findings),
            ("*.py", scanner.python_findings),
            ("*.js", scanner.javascript_findings),
        )
        for path in scanner.source_files(pattern)
        for f in scan(path)
    }
    assert found >= scanner.ALLOWED


@pytest.mark.parametrize(
    ("kind", "source", "expected"),
    [
        ("html", '{% load i18n %}<p>Hello there</p><p>{% translate "Fine" %}</p>', ["Hello there"]),
        ("html", '<button aria-label="Close it">×</button>', ["Close it"]),
        ("html", "{% blocktranslate %}Inside {{ x }}{% endblocktranslate %}<b>{{ x }}</b> · —", []),
        ("py", 'messages.success(request, "Saved it")', ["Saved it"]),
        ("py", 'raise ValidationError("Bad value")', ["Bad value"]),
        ("py", 'forms.CharField(label="Due days")', ["Due days"]),
        ("py", 'Response({"error": {"code": "x", "message": "Nope, not here"}})', ["Nope, not here"]),
        ("py", 'class S(models.TextChoices):\n    OPEN = "open", "Open"', ["Open"]),
        ("py", 'messages.success(request, _("Saved it"))\nraise ValidationError(_("Bad"), code="bad_code")', []),
        ("py", "label = f\"{name} ({_('recommended')})\"", ["gettext inside an f-string"]),
        ("js", 'node.textContent = "Loading";', ["Loading"]),
        ("js", 'el("span", { text: "Paid" })', ["Paid"]),
        ("js", 'button.setAttribute("aria-label", "More actions");', ["More actions"]),
        ("js", 'node.textContent = t("loading"); el("b", { text: "…" });', []),
    ],
)
def test_scanners_catch_unmarked_text(tmp_path, monkeypatch, kind, source, expected):
    monkeypatch.setattr(scanner, "ROOT", tmp_path)
    path = tmp_path / f"sample.{kind}"
    path.write_text(source)
    scan = {"html": scanner.template_findings, "py": scanner.python_findings, "js": scanner.javascript_findings}
    assert [f.text for f in scan[kind](path)] == expected
