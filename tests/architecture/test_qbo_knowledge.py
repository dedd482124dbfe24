"""QuickBooks knowledge lives in integration/quickbooks/: no QBO query string and no QBO JSON key
in product code anywhere else (issue 11). Queries are `integration.quickbooks.entities` functions;
bodies are built and rows read by `integration.quickbooks.documents`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "integration", "invoices", "tenants")
OUTSIDE = ("integration/quickbooks/", "integration/sandbox/")  # the client itself; the QBO sandbox

QUERY = re.compile(r"\bselect\b[\s\S]*?\bfrom\s+[A-Z][A-Za-z]+\b", re.IGNORECASE)
ENTITY_AFTER_FROM = re.compile(r"\bfrom\s+([A-Za-z_]+)", re.IGNORECASE)
QBO_ENTITIES = {
    "Account",
    "CompanyCurrency",
    "CompanyInfo",
    "CreditMemo",
    "Customer",
    "Invoice",
    "Item",
    "Payment",
    "Preferences",
    "TaxCode",
    "TaxRate",
}
QBO_KEYS = {
    "AccountType",
    "Balance",
    "BillAddr",
    "BillEmail",
    "BillEmailCc",
    "CurrencyRef",
    "CustomerRef",
    "DetailType",
    "DisplayName",
    "DocNumber",
    "DueDate",
    "EmailStatus",
    "GlobalTaxCalculation",
    "IncomeAccountRef",
    "InvoiceLink",
    "ItemRef",
    "LastUpdatedTime",
    "Line",
    "LinkedTxn",
    "MetaData",
    "PaymentMethodRef",
    "PaymentRefNum",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "PrimaryTaxIdentifier",
    "PrivateNote",
    "Qty",
    "QueryResponse",
    "RateValue",
    "SalesItemLineDetail",
    "SalesTaxCodeRef",
    "SalesTaxRateList",
    "Sku",
    "SyncToken",
    "TaxCodeRef",
    "TaxGroup",
    "TaxInclusiveAmt",
    "TaxRateDetail",
    "TaxRateRef",
    "TotalAmt",
    "TxnDate",
    "TxnStatus",
    "TxnTaxDetail",
    "UnitPrice",
}


def _product_files() -> list[Path]:
    files = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(OUTSIDE) or "/migrations/" in relative:
                continue
            files.append(path)
    return files


TRANSLATED = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext"}  # words for people, not JSON keys


def _strings(tree: ast.AST):
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)  # read as one text below
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in TRANSLATED:
            skip.update(id(arg) for arg in node.args)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string: its literal parts together
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            yield node.lineno, text


def qbo_knowledge(source: str) -> list[str]:
    """Where a module's string literals hold a QBO query or a QBO JSON key."""
    found = []
    for line, text in _strings(ast.parse(source)):
        if QUERY.search(text) and any(name in QBO_ENTITIES for name in ENTITY_AFTER_FROM.findall(text)):
            found.append(f"{line}: QBO query {text[:60]!r}")
        elif text in QBO_KEYS:
            found.append(f"{line}: QBO key {text!r}")
    return found


def test_the_scan_finds_what_it_looks_for():
    """A planted query and a planted body are found; our own SQL and plain words are not."""
    planted = (
        'rows = client.query(f"SELECT * FROM Invoice WHERE Id IN ({ids})")\n'
        "body = {'CustomerRef': {'value': '1'}, 'Line': []}\n"
        "sql = 'SELECT id FROM invoices_invoice WHERE company_id = %s'\n"
        "other = f'SELECT {pk} FROM {table}'\n"
        "label = 'Customer'\n"
        "column = _('Balance')\n"
    )
    found = qbo_knowledge(planted)
    assert sorted(f.split(":")[0] for f in found) == ["1", "2", "2"]
    assert any("QBO query" in f for f in found)
    assert {f.split("'")[1] for f in found if "QBO key" in f} == {"CustomerRef", "Line"}


def test_no_qbo_query_or_json_outside_integration_quickbooks():
    files = _product_files()
    assert len(files) > 50  # the scan reads the product, not an empty folder
    offences = {
        path.relative_to(ROOT).as_posix(): hits
        for path in files
        if (hits := qbo_knowledge(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, "QBO knowledge outside integration/quickbooks/ (use entities / documents):\n" + "\n".join(
        f"{path}:{hit}" for path, hits in offences.items() for hit in hits
    )
