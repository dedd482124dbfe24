"""Every query on a tenant model names its company (DESIGN.md §5), in addition to the fail-closed
manager: an AST scan of the product code for `<TenantModel>.objects…` chains that name no company
anywhere in the chain (Q objects included). Naming it is one of:

- `company=`, `company_id=` or `company__…=`;
- a parent row that belongs to one company (`connection=`, `invoice=`, `invoice__in=`, …), the same as
  going through that row's related manager (`invoice.lines.all()`), which is not an `.objects` chain;
- `pk=<obj>.pk`: the row read or updated again is one already loaded in its company.

The declared cross-company paths (`Model.all_companies`: support, sweepers) are not `.objects` chains,
so they are not looked at. The `.objects` chains that legitimately name no company are in ALLOWED with
the reason; the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

from tenants.models import TenantModel

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "invoices", "integration", "tenants")
SKIP_PARTS = {"migrations", "sandbox", "management"}

# (function or class containing the query, model): why it names no company. Keyed without the file so
# moving a function to another module keeps its entry.
_QUEUE = (
    "the create queue works on one invoice by id, inside the task's or request's company scope "
    "(`@with_company_scope(company_id=...)`); the id comes from the company's own intent row"
)
ALLOWED: dict[tuple[str, str], str] = {
    ("_claim", "Invoice"): _QUEUE,
    ("invoice_submit", "Invoice"): _QUEUE,
    ("store_answer", "Invoice"): _QUEUE,
    ("_store_identity", "Invoice"): _QUEUE,
    ("record_attempt", "Invoice"): _QUEUE,
    ("_send_after_create", "Invoice"): _QUEUE,
    ("_send_after_create", "Membership"): "the invoice's creator, by the id stored on that invoice (same scope)",
    ("payment_store", "InvoicePayment"): "bulk_create of rows built here with company=connection.company",
}


def tenant_model_names() -> set[str]:
    return {model.__name__ for model in apps.get_models() if issubclass(model, TenantModel)}


def product_files():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not SKIP_PARTS.intersection(path.relative_to(ROOT).parts):
                yield path


# Foreign keys to a row of one company: naming the row names its company.
PARENT_KEYS = {"connection", "connection_id", "invoice", "invoice_id", "invoice__in", "membership", "membership_id"}


def names_company(call: ast.Call) -> bool:
    def company_key(keyword: ast.keyword) -> bool:
        name = keyword.arg
        if name is None:
            return False
        if name in ("company", "company_id") or name.startswith(("company__", "company_id__")):
            return True
        if name in PARENT_KEYS:
            return True
        # pk=<obj>.pk: an object already loaded (in its company's scope) read or updated again
        return name == "pk" and isinstance(keyword.value, ast.Attribute) and keyword.value.attr == "pk"

    if any(company_key(keyword) for keyword in call.keywords):
        return True
    for arg in call.args:  # Q(company=...) & ..., possibly nested
        for node in ast.walk(arg):
            if isinstance(node, ast.keyword) and company_key(node):
                return True
    return False


def unnamed_queries(tree: ast.AST, models: set[str]) -> list[tuple[int, str, str]]:
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "objects"):
            continue
        base = node.value
        model = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
        if model not in models:
            continue
        # Climb the chain Model.objects.a(...).b(...): attribute accesses and the calls on them.
        calls, current = [], node
        while True:
            parent = parents.get(current)
            if isinstance(parent, ast.Attribute) and parent.value is current:
                current = parent
            elif isinstance(parent, ast.Call) and parent.func is current:
                calls.append(parent)
                current = parent
            else:
                break
        outer = parents.get(current)
        if isinstance(outer, ast.keyword) and outer.arg == "queryset":
            continue  # Prefetch("events", queryset=...): fetched by the already scoped parent rows' ids
        if isinstance(outer, ast.Call) and getattr(outer.func, "id", "") in ("get_object_or_404", "get_list_or_404"):
            calls.append(outer)  # get_object_or_404(Model.objects..., company=...): the lookup is its kwargs
        if not any(names_company(call) for call in calls):
            where = parents.get(node)
            while where is not None and not isinstance(where, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                where = parents.get(where)
            found.append((node.lineno, where.name if where is not None else "<module>", model))
    return sorted(found)


def test_every_tenant_query_names_its_company():
    models = tenant_model_names()
    assert {"Invoice", "Membership", "QuickBooksConnection"} <= models  # the scan sees the tenant models
    unnamed, seen_allowed = [], set()
    for path in product_files():
        relative = str(path.relative_to(ROOT))
        for line, where, model in unnamed_queries(ast.parse(path.read_text(), relative), models):
            key = (where, model)
            if key in ALLOWED:
                seen_allowed.add(key)
                continue
            unnamed.append(f"{relative}:{line} in {where}: {model}.objects… names no company")
    assert not unnamed, "add company=… to these queries:\n" + "\n".join(unnamed)
    assert not set(ALLOWED) - seen_allowed, f"stale ALLOWED entries: {sorted(set(ALLOWED) - seen_allowed)}"


def test_the_scan_finds_an_unnamed_query():
    source = (
        "def f(company, connection):\n"
        "    Invoice.objects.filter(company=company).first()\n"
        "    Invoice.objects.select_related('x').filter(Q(company_id=1) | Q(pk=2))\n"
        "    Invoice.objects.filter(connection=connection).update(status='paid')\n"
        "    Invoice.objects.filter(pk=invoice.pk).update(status='paid')\n"
        "    Invoice.objects.filter(status='open').count()\n"
        "    Invoice.objects.get(pk=invoice_id)\n"
        "    get_object_or_404(Invoice.objects.select_related('x'), pk=1, connection=connection)\n"
        "    Prefetch('events', queryset=Invoice.objects.order_by('-id'))\n"
        "    get_object_or_404(Invoice.objects.all(), pk=1)\n"
    )
    found = unnamed_queries(ast.parse(source), {"Invoice"})
    assert found == [(6, "f", "Invoice"), (7, "f", "Invoice"), (10, "f", "Invoice")]
