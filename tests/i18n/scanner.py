"""Find user-facing text that is not marked for translation (tests/i18n/test_marked.py).

Three scanners, each for one kind of source, each with the sinks where text reaches a user:
templates (text between tags and the title/aria-label/placeholder/alt attributes, outside
{% translate %}), Python (string literals passed to messages.*, ValidationError, API exceptions,
form labels/help texts, model verbose names and choices labels, API error bodies' "message"/"detail")
and the panel's JavaScript (literals assigned to textContent/innerText/title/aria-label/placeholder or
passed to our text helpers: the scripts get every text from the server's translated catalogue).
Not scanned: the sandboxes (stand-ins for Pipedrive and QuickBooks, English like the real services'
test accounts), tests, migrations, scripts, bench, and vendored code.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]
EXCLUDED_PARTS = {
    ".venv",
    "tests",
    "bench",
    "scripts",
    "migrations",
    "sandbox",
    "vendor",
    "staticfiles",
    "docs",
    "node_modules",
    "locale",
}

# Text that needs no translation: punctuation and symbols, and product names on their own.
ALLOWED_TEXT = re.compile(r"^[\W\d_]*$")
ALLOWED_WORDS = {"QuickBooks", "Pipedrive", "QuickBooks Online", "PDF", "ID", "OK", "Intuit", "JSON", "API"}

# The Pipedrive client's exceptions (its API, OAuth and payload parsing) carry English diagnostics
# (status, remote text, exception class) for logs, the API call log and support; a user reads what
# the surface makes of them (invoices/errors.py `integration_error_answer` wraps them in a
# translated sentence).
DIAGNOSTIC_FILES = {
    f"integration/pipedrive/{module}.py" for module in ("client", "errors", "shapes", "tokens", "oauth", "installments")
}
DIAGNOSTIC_EXCEPTIONS = {"IntegrationError", "PermanentError", "TransientError", "AuthRevoked", "RateLimited"}

# Found by a scanner but not for translation, each with its reason: (file, text).
ALLOWED = {
    # A column named after Intuit's own header field: support staff search Intuit's logs for it.
    ("templates/admin/tenants/company/change_form.html", "intuit_tid"),
    # OpenAPI schema descriptions are developer documentation of our API, kept in English.
    ("invoices/serializers.py", "The draft as GET deals/{id}/draft returned it, as edited in the modal."),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _shipped(path: Path) -> bool:
    return not (set(path.relative_to(ROOT).parts) & EXCLUDED_PARTS)


def _needs_translation(text: str) -> bool:
    text = " ".join(html.unescape(text).split())
    return bool(text) and not ALLOWED_TEXT.match(text) and text not in ALLOWED_WORDS


def source_files(pattern: str) -> list[Path]:
    return sorted(path for path in ROOT.rglob(pattern) if _shipped(path))


# -- templates -----------------------------------------------------------------------------------

TAG = re.compile(r"<[^>]*>", re.S)
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
TEXT_ATTRIBUTE = re.compile(r"""\b(title|aria-label|placeholder|alt)\s*=\s*"([^"{]*)\"""")


def template_findings(path: Path) -> list[Finding]:
    """Text nodes and text attributes written in the template itself, outside translation tags.
    Variables ({{ … }}) are data or already translated; {% blocktranslate %} bodies are skipped."""
    source = path.read_text()
    findings = []
    depth = 0  # inside {% blocktranslate %} … {% endblocktranslate %}
    comment = False
    chunks: list[tuple[int, str]] = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in {"blocktranslate", "blocktrans"}:
                depth += 1
            elif name in {"endblocktranslate", "endblocktrans"}:
                depth -= 1
            elif name == "comment":
                comment = True
            elif name == "endcomment":
                comment = False
            chunks.append((token.lineno, "\0"))  # a tag separates text nodes
        elif token.token_type == TokenType.TEXT and not depth and not comment:
            chunks.append((token.lineno, token.contents))
        elif token.token_type == TokenType.VAR:
            chunks.append((token.lineno, "\0"))
    text = "".join(chunk for _, chunk in chunks)
    text = SCRIPT_OR_STYLE.sub(" ", text)
    for match in TEXT_ATTRIBUTE.finditer(text):
        if _needs_translation(match.group(2)):
            findings.append(Finding(_rel(path), _line_of(source, match.group(2)), match.group(2)))
    for node in TAG.sub("\0", text).split("\0"):
        if _needs_translation(node):
            findings.append(Finding(_rel(path), _line_of(source, node.strip()), " ".join(node.split())))
    return findings


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _line_of(source: str, text: str) -> int:
    index = source.find(text.split("\n")[0][:40])
    return source.count("\n", 0, index) + 1 if index >= 0 else 0


# -- Python --------------------------------------------------------------------------------------

MESSAGE_FUNCTIONS = {"debug", "info", "success", "warning", "error", "add_message"}
EXCEPTIONS = {
    "ValidationError",
    "PermissionDenied",
    "NotFound",
    "AuthenticationFailed",
    "NotAuthenticated",
    "ParseError",
    "MethodNotAllowed",
    "Throttled",
    "APIException",
    "ApiError",
    "Refusal",
    "IntegrationError",
    "PermanentError",
    "TransientError",
    "AuthRevoked",
    "RateLimited",
    "Http404",
}
TEXT_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label", "detail", "message"}
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
BODY_KEYS = {"message", "detail", "title", "label"}


def _literal(node: ast.AST) -> str | None:
    """The text of a plain or f-string literal (None for anything else, e.g. a gettext call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _receiver(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return ""


def python_findings(path: Path) -> list[Finding]:
    tree = ast.parse(path.read_text(), filename=str(path))
    findings = []

    def flag(node: ast.AST, text: str | None) -> None:
        if (text is not None and _needs_translation(text) and " " in text.strip()) or (
            text is not None and _needs_translation(text) and text[:1].isupper()
        ):
            findings.append(Finding(_rel(path), node.lineno, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name in MESSAGE_FUNCTIONS and _receiver(node) == "messages":
                for arg in node.args[1:2]:
                    flag(arg, _literal(arg))
            diagnostic = name in DIAGNOSTIC_EXCEPTIONS and _rel(path) in DIAGNOSTIC_FILES
            if name in EXCEPTIONS and node.args and not diagnostic:
                flag(node.args[0], _literal(node.args[0]))
            for keyword in node.keywords:
                # IntegrationError(detail=…) is the diagnostic for support, not the user's message
                if keyword.arg == "detail" and name in DIAGNOSTIC_EXCEPTIONS:
                    continue
                if keyword.arg in TEXT_KEYWORDS:
                    flag(keyword.value, _literal(keyword.value))
        elif isinstance(node, ast.JoinedStr):
            # gettext inside an f-string: no extractor sees it, so it never reaches a catalogue
            for part in node.values:
                call = part.value if isinstance(part, ast.FormattedValue) else None
                if isinstance(call, ast.Call) and _callee(call) in GETTEXT_NAMES:
                    findings.append(Finding(_rel(path), node.lineno, "gettext inside an f-string"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in BODY_KEYS:
                    flag(value, _literal(value))
        elif isinstance(node, ast.ClassDef):
            bases = {getattr(b, "attr", getattr(b, "id", "")) for b in node.bases}
            for statement in node.body:
                if not isinstance(statement, ast.Assign):
                    continue
                targets = {getattr(t, "id", "") for t in statement.targets}
                if targets & {"default_detail", "verbose_name", "verbose_name_plural", "message"}:
                    flag(statement, _literal(statement.value))
                choice = bases & {"TextChoices", "IntegerChoices"} and isinstance(statement.value, ast.Tuple)
                if choice and len(statement.value.elts) >= 2:
                    flag(statement, _literal(statement.value.elts[-1]))
    return findings


# -- JavaScript ----------------------------------------------------------------------------------

JS_SINKS = [
    re.compile(r"""\.(?:textContent|innerText|title|placeholder)\s*=\s*(["'])((?:(?!\1).)*)\1"""),
    re.compile(r"""setAttribute\(\s*["'](?:title|aria-label|placeholder|alt)["']\s*,\s*(["'])((?:(?!\1).)*)\1"""),
    re.compile(r"""["']?(?:text|title|aria-label|placeholder|label|message)["']?\s*:\s*(["'])((?:(?!\1).)*)\1"""),
    re.compile(r"""\b(?:announce|snackbar|notice|confirm|createTextNode)\(\s*(["'])((?:(?!\1).)*)\1"""),
]


def javascript_findings(path: Path) -> list[Finding]:
    findings = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        code = line.split("//")[0] if "://" not in line else line
        if code.strip().startswith(("*", "/*")):
            continue
        for sink in JS_SINKS:
            for match in sink.finditer(code):
                if _needs_translation(match.group(2)):
                    findings.append(Finding(_rel(path), number, match.group(2)))
    return findings
