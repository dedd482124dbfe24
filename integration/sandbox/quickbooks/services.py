"""What QuickBooks does with each entity: defaults, validation, totals, tax, payments, credit memos,
void, delete.

Every function takes keyword arguments and works inside the caller's transaction. Changes of
Invoice, Customer, Payment and CreditMemo are queued as webhook events (`webhooks.queue_event`),
which are sent after the transaction commits.

Credit (README "Credit memos and customer balance"): a CreditMemo's `RemainingCredit` (= its
`Balance`) is its total less the Payment lines that link it; a Payment applies credit to invoices
with lines linking CreditMemos next to lines linking Invoices, so `UnappliedAmt` = `TotalAmt` -
(invoice lines - credit lines); a Customer's `Balance` is its invoices' balances less its unapplied
payments and its credit memos' remaining credit.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from integration.sandbox.quickbooks import clock, faults, webhooks
from integration.sandbox.quickbooks.faults import QboFault
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm
from integration.sandbox.quickbooks.render import as_number, money

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
}
WEBHOOK_ENTITIES = {"Invoice", "Customer", "Payment", "CreditMemo"}
# `include=allowduplicatedocnum` on the request: a duplicate DocNumber is let through (reference §4.1).
allow_duplicate_doc_number: ContextVar[bool] = ContextVar("qbo_sandbox_allow_dup_docnum", default=False)
EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # "name" (list entity: deactivate only), "txn" (deletable), "readonly", "prefs"
    known: frozenset[str] = field(default_factory=frozenset)
    cdc: bool = True


_COMMON = {"Id", "SyncToken", "sparse", "domain", "MetaData", "status"}
_TXN = _COMMON | {
    "DocNumber",
    "TxnDate",
    "CurrencyRef",
    "ExchangeRate",
    "PrivateNote",
    "LinkedTxn",
    "Line",
    "TxnTaxDetail",
    "CustomerRef",
    "CustomField",
    "DepartmentRef",
    "ClassRef",
    "TxnSource",
    "TransactionLocationType",
    "GlobalTaxCalculation",
    "ProjectRef",
    "TaxExemptionRef",
    "HomeTotalAmt",
    "TotalAmt",
    "AttachableRef",
}
INVOICE_PROPS = frozenset(
    _TXN
    | {
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
        "CustomerMemo",
        "BillAddr",
        "ShipAddr",
        "ShipFromAddr",
        "FreeFormAddress",
        "SalesTermRef",
        "DueDate",
        "ShipMethodRef",
        "ShipDate",
        "TrackingNum",
        "ApplyTaxAfterDiscount",
        "PrintStatus",
        "EmailStatus",
        "BillEmail",
        "BillEmailCc",
        "BillEmailBcc",
        "DeliveryInfo",
        "Balance",
        "HomeBalance",
        "Deposit",
        "DepositToAccountRef",
        "InvoiceLink",
        "SalesRepRef",
        "PONumber",
        "FOB",
        "TxnStatus",
        "AutoDocNumber",
        "RecurDataRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "ConvenienceFeeDetail",
        "DiscountRate",
        "invoiceStatus",
        "invoiceStatusLog",
        "EInvoiceStatus",
        "Tag",
        "RemitToRef",
    }
)
CUSTOMER_PROPS = frozenset(
    _COMMON
    | {
        "Title",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "DisplayName",
        "FullyQualifiedName",
        "CompanyName",
        "PrintOnCheckName",
        "Active",
        "PrimaryPhone",
        "AlternatePhone",
        "Mobile",
        "Fax",
        "PrimaryEmailAddr",
        "WebAddr",
        "BillAddr",
        "ShipAddr",
        "OtherAddr",
        "Notes",
        "Job",
        "BillWithParent",
        "ParentRef",
        "Level",
        "CustomerTypeRef",
        "SalesTermRef",
        "PaymentMethodRef",
        "PriceLevelRef",
        "ARAccountRef",
        "Balance",
        "BalanceWithJobs",
        "OpenBalanceDate",
        "CurrencyRef",
        "PreferredDeliveryMethod",
        "Taxable",
        "DefaultTaxCodeRef",
        "TaxExemptionReasonId",
        "ResaleNum",
        "PrimaryTaxIdentifier",
        "SecondaryTaxIdentifier",
        "BusinessNumber",
        "GSTIN",
        "GSTRegistrationType",
        "TaxRegime",
        "IsProject",
        "Source",
        "CustomField",
        "AlternateId",
    }
)
PAYMENT_PROPS = frozenset(
    _TXN
    | {
        "UnappliedAmt",
        "PaymentMethodRef",
        "PaymentRefNum",
        "DepositToAccountRef",
        "ARAccountRef",
        "ProcessPayment",
        "CreditCardPayment",
        "TxnStatus",
    }
)
# CreditMemo attributes (Intuit's CreditMemo reference, read through the DOCS-MIRROR
# Petrus-Han/finance_plugins ref/quickbooks_dev_docs/api-reference/creditmemo.md).
CREDITMEMO_PROPS = frozenset(
    _TXN
    | {
        "CustomerMemo",
        "BillAddr",
        "ShipAddr",
        "SalesTermRef",
        "ApplyTaxAfterDiscount",
        "PrintStatus",
        "EmailStatus",
        "BillEmail",
        "DeliveryInfo",
        "Balance",
        "HomeBalance",
        "RemainingCredit",
        "InvoiceRef",
        "PaymentMethodRef",
        "RecurDataRef",
    }
)
ITEM_PROPS = frozenset(
    _COMMON
    | {
        "Name",
        "Sku",
        "Description",
        "Active",
        "SubItem",
        "ParentRef",
        "Level",
        "FullyQualifiedName",
        "Taxable",
        "SalesTaxIncluded",
        "UnitPrice",
        "RatePercent",
        "Type",
        "IncomeAccountRef",
        "ExpenseAccountRef",
        "COGSAccountRef",
        "AssetAccountRef",
        "PurchaseDesc",
        "PurchaseCost",
        "TrackQtyOnHand",
        "QtyOnHand",
        "InvStartDate",
        "ReorderPoint",
        "SalesTaxCodeRef",
        "PurchaseTaxCodeRef",
        "ClassRef",
        "TaxClassificationRef",
        "PurchaseTaxIncluded",
        "AbatementRate",
        "ReverseChargeRate",
        "ServiceType",
        "ItemCategoryType",
        "PrefVendorRef",
        "UQCDisplayText",
        "UQCId",
    }
)

SPECS: dict[str, Spec] = {
    "customer": Spec("Customer", "name", CUSTOMER_PROPS),
    "item": Spec("Item", "name", ITEM_PROPS),
    "account": Spec("Account", "name"),
    "term": Spec("Term", "name"),
    "invoice": Spec("Invoice", "txn", INVOICE_PROPS),
    "payment": Spec("Payment", "txn", PAYMENT_PROPS),
    "creditmemo": Spec("CreditMemo", "txn", CREDITMEMO_PROPS),
    "taxcode": Spec("TaxCode", "readonly", cdc=False),
    "taxrate": Spec("TaxRate", "readonly", cdc=False),
    "companyinfo": Spec("CompanyInfo", "readonly"),
    "preferences": Spec("Preferences", "prefs"),
    "companycurrency": Spec("CompanyCurrency", "name"),
}
BY_NAME = {spec.name.lower(): (segment, spec) for segment, spec in SPECS.items()}
NAME_LISTS = {"Customer", "Item", "Account", "Term", "CompanyCurrency", "TaxCode", "TaxRate"}


def spec_for_name(name: str) -> Spec | None:
    found = BY_NAME.get(name.lower())
    return found[1] if found else None


# ---------------------------------------------------------------- storage helpers


def realm_for_update(realm_id: str) -> SandboxRealm | None:
    return SandboxRealm.objects.select_for_update().filter(realm_id=realm_id).first()


def allocate_id(realm: SandboxRealm) -> str:
    SandboxRealm.objects.filter(pk=realm.pk).update(next_id=realm.next_id + 1)
    realm.next_id += 1
    return str(realm.next_id - 1)


def _meta(now: dt.datetime, realm: SandboxRealm, created: str | None = None) -> dict:
    stamp = clock.qbo_datetime(now, realm.timezone)
    return {"CreateTime": created or stamp, "LastUpdatedTime": stamp}


def insert(
    *, realm: SandboxRealm, entity: str, data: dict, qbo_id: str | None = None, notify: bool = True
) -> SandboxEntity:
    """Store a new object with Id, SyncToken "0", MetaData, domain and sparse filled in."""
    now = clock.now()
    qbo_id = qbo_id or allocate_id(realm)
    body = {"domain": "QBO", "sparse": False, "Id": qbo_id, "SyncToken": "0", "MetaData": _meta(now, realm)}
    body.update({k: v for k, v in data.items() if k not in body})
    row = SandboxEntity.objects.create(realm=realm, entity=entity, qbo_id=qbo_id, data=body, updated_at=now)
    if notify and entity in WEBHOOK_ENTITIES:
        webhooks.queue_event(realm=realm, entity=entity, entity_id=qbo_id, operation="Create", when=now)
    return row


def save(*, row: SandboxEntity, data: dict, operation: str = "Update", bump: bool = True) -> SandboxEntity:
    """Write a changed object: SyncToken + 1 (unless `bump` is False), LastUpdatedTime now."""
    now = clock.now()
    data = dict(data)
    data["domain"], data["sparse"], data["Id"] = "QBO", False, row.qbo_id
    if bump:
        data["SyncToken"] = str(int(row.data.get("SyncToken", "0")) + 1)
    else:
        data["SyncToken"] = row.data.get("SyncToken", "0")
    data["MetaData"] = _meta(now, row.realm, row.data.get("MetaData", {}).get("CreateTime"))
    row.data = data
    row.updated_at = now
    row.save(update_fields=["data", "updated_at"])
    if row.entity in WEBHOOK_ENTITIES:
        webhooks.queue_event(realm=row.realm, entity=row.entity, entity_id=row.qbo_id, operation=operation, when=now)
    return row


def get_row(*, realm: SandboxRealm, entity: str, qbo_id: str, for_update: bool = False) -> SandboxEntity:
    """The live object, or fault 2030 (malformed id) / 610 (missing or deleted)."""
    # US TaxCodes TAX/NON are the only non-numeric ids.
    if not re.fullmatch(r"\d+", str(qbo_id or "")) and (entity != "TaxCode" or not qbo_id):
        raise faults.invalid_id(str(qbo_id))
    qs = SandboxEntity.objects.filter(realm=realm, entity=entity, qbo_id=str(qbo_id))
    if for_update:
        qs = qs.select_for_update()
    row = qs.select_related("realm").first()
    if row is None:
        raise faults.not_found()
    if row.deleted:
        raise faults.deleted_txn()
    return row


def rows(*, realm: SandboxRealm, entity: str) -> list[SandboxEntity]:
    return list(SandboxEntity.objects.filter(realm=realm, entity=entity, deleted=False).order_by("id"))


def preferences(realm: SandboxRealm) -> dict:
    row = SandboxEntity.objects.filter(realm=realm, entity="Preferences").first()
    return row.data if row else {}


def is_us(realm: SandboxRealm) -> bool:
    return realm.country == "US"


def currency_ref(code: str) -> dict:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _ref_id(ref) -> str:
    if isinstance(ref, dict):
        return str(ref.get("value", "") or "")
    return ""


def geocoded(addr):
    """QBO geocodes stored addresses; unresolvable ones read back as Lat/Long "INVALID"."""
    if isinstance(addr, dict) and addr:
        return {**addr, "Lat": addr.get("Lat", "INVALID"), "Long": addr.get("Long", "INVALID")}
    return addr


def _check_lengths(payload: dict, limits: dict[str, int]) -> None:
    for key, limit in limits.items():
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("value") or value.get("Address")
        if isinstance(value, str) and len(value) > limit:
            raise faults.string_length(key, limit)


def _check_known(spec: Spec, payload: dict) -> None:
    if not spec.known:
        return
    for key in payload:
        if key not in spec.known:
            raise faults.unsupported_property(key, spec.name, sorted(spec.known))


def _check_sync_token(row: SandboxEntity, payload: dict) -> None:
    token = payload.get("SyncToken")
    if token is None or token == "":
        raise faults.required_param("SyncToken")
    if str(token) != str(row.data.get("SyncToken")):
        raise faults.stale_object()


def _active_currencies(realm: SandboxRealm) -> set[str]:
    codes = {realm.home_currency}
    if realm.multicurrency:
        codes |= {r.data.get("Code") for r in rows(realm=realm, entity="CompanyCurrency") if r.data.get("Active", True)}
    return codes


def _check_currency(realm: SandboxRealm, code: str, element: str = "CurrencyRef") -> None:
    if code == realm.home_currency:
        return
    if not realm.multicurrency:
        raise faults.business_validation(
            f"Multicurrency is not enabled for this company; only the home currency {realm.home_currency} is allowed.",
            element,
        )
    if code not in _active_currencies(realm):
        raise faults.invalid_reference(element, f"Currency {code} is not active in this company.")


# ---------------------------------------------------------------- name lists


def _display_name_taken(realm: SandboxRealm, name: str, exclude_id: str | None) -> bool:
    wanted = name.strip().lower()
    # Unique across Customer/Vendor/Employee, inactive ones included (the sandbox has customers only).
    for row in SandboxEntity.objects.filter(realm=realm, entity="Customer"):
        if row.qbo_id != exclude_id and str(row.data.get("DisplayName", "")).strip().lower() == wanted:
            return True
    return False


def _derive_display_name(payload: dict) -> str:
    parts = [payload.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    return " ".join(p for p in parts if p) or str(payload.get("CompanyName") or "")


def _customer(realm: SandboxRealm, payload: dict, existing: SandboxEntity | None) -> dict:
    data = dict(payload)
    name = str(data.get("DisplayName") or _derive_display_name(data)).strip()
    if not name:
        raise QboFault(
            "6080", "No Name Provided", "You must provide a value for at least one of the name fields.", element=None
        )
    if ":" in name or "\t" in name or "\n" in name:
        raise faults.business_validation("The name cannot contain a colon (:), tab or newline.", "DisplayName")
    _check_lengths({"DisplayName": name, **data}, {"DisplayName": 500, "Notes": 1024, "CompanyName": 100})
    email = (data.get("PrimaryEmailAddr") or {}).get("Address")
    if email and (len(email) > 100 or not all(EMAIL_RE.match(e.strip()) for e in email.split(","))):
        raise faults.invalid_email("PrimaryEmailAddr")
    if _display_name_taken(realm, name, existing.qbo_id if existing else None):
        raise faults.duplicate_name()
    code = _ref_id(data.get("CurrencyRef")) or (
        _ref_id(existing.data.get("CurrencyRef")) if existing else realm.home_currency
    )
    _check_currency(realm, code)
    if existing and code != _ref_id(existing.data.get("CurrencyRef")):
        has_txns = any(
            _ref_id(r.data.get("CustomerRef")) == existing.qbo_id
            for entity in ("Invoice", "Payment", "CreditMemo")
            for r in rows(realm=realm, entity=entity)
        )
        if has_txns:
            raise faults.business_validation("You can't change the currency of a customer that has transactions.")
    base = {
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "PreferredDeliveryMethod": "Print",
        "Active": True,
    }
    if is_us(realm):
        base["Taxable"] = True
    base.update(data)
    base["CurrencyRef"] = currency_ref(code)
    for key in ("BillAddr", "ShipAddr"):
        if base.get(key):
            base[key] = geocoded(base[key])
    base["DisplayName"] = name
    base["FullyQualifiedName"] = name
    base.setdefault("PrintOnCheckName", name)
    if is_us(realm) and base.get("Taxable") and not base.get("DefaultTaxCodeRef"):
        group = (preferences(realm).get("TaxPrefs") or {}).get("TaxGroupCodeRef")
        if group:
            base["DefaultTaxCodeRef"] = {"value": _ref_id(group)}
    return base


def _named(realm: SandboxRealm, entity: str, payload: dict, existing: SandboxEntity | None) -> dict:
    data = dict(payload)
    name = str(data.get("Name") or "").strip()
    if not name:
        raise faults.required_param("Name")
    _check_lengths(data, {"Name": 100, "Description": 4000, "Sku": 100})
    for row in SandboxEntity.objects.filter(realm=realm, entity=entity):
        if (not existing or row.qbo_id != existing.qbo_id) and str(row.data.get("Name", "")).lower() == name.lower():
            raise faults.duplicate_name()
    data.setdefault("Active", True)
    data["FullyQualifiedName"] = name
    if entity == "Item":
        data.setdefault("Type", "Service")
        if data["Type"] not in {"Service", "NonInventory", "Inventory", "Category", "Group", "Bundle"}:
            raise faults.invalid_enum("Type", str(data["Type"]))
        if data["Type"] in {"Service", "NonInventory", "Inventory"}:
            account_id = _ref_id(data.get("IncomeAccountRef"))
            if not account_id:
                raise faults.required_param("IncomeAccountRef")
            account = _maybe(realm, "Account", account_id)
            if account is None:
                raise faults.invalid_reference("IncomeAccountRef", f"Account {account_id} does not exist.")
            data["IncomeAccountRef"] = {"value": account_id, "name": account.data.get("Name")}
        data.setdefault("UnitPrice", 0)
        data.setdefault("PurchaseCost", 0)
        data.setdefault("TrackQtyOnHand", False)
        if is_us(realm):
            data.setdefault("Taxable", False)
    elif entity == "Account":
        account_type = data.get("AccountType")
        if not account_type:
            raise faults.required_param("AccountType")
        classification = {
            "Income": "Revenue",
            "Other Income": "Revenue",
            "Expense": "Expense",
            "Cost of Goods Sold": "Expense",
            "Bank": "Asset",
            "Accounts Receivable": "Asset",
            "Other Current Asset": "Asset",
            "Accounts Payable": "Liability",
            "Equity": "Equity",
        }.get(account_type, "Asset")
        data.setdefault("SubAccount", False)
        data.setdefault("Classification", classification)
        data.setdefault("CurrentBalance", 0)
        data.setdefault("CurrentBalanceWithSubAccounts", 0)
        data["CurrencyRef"] = currency_ref(_ref_id(data.get("CurrencyRef")) or realm.home_currency)
    elif entity == "Term":
        data.setdefault("Type", "STANDARD")
        data.setdefault("DueDays", 0)
        data.setdefault("DiscountPercent", 0)
        data.setdefault("DiscountDays", 0)
    return data


def _currency_entity(realm: SandboxRealm, payload: dict, existing: SandboxEntity | None) -> dict:
    if not realm.multicurrency:
        raise faults.business_validation("Multicurrency is not enabled for this company.")
    code = str(payload.get("Code") or (existing.data.get("Code") if existing else "")).upper()
    if not code:
        raise faults.required_param("Code")
    for row in rows(realm=realm, entity="CompanyCurrency"):
        if row.data.get("Code") == code and (existing is None or row.qbo_id != existing.qbo_id):
            raise faults.duplicate_name()
    return {"Code": code, "Name": CURRENCY_NAMES.get(code, code), "Active": payload.get("Active", True)}


def _default_item_id(prefs: dict) -> str:
    for pair in (prefs.get("OtherPrefs") or {}).get("NameValue") or []:
        if pair.get("Name") == "SalesFormsPrefs.DefaultItem" and pair.get("Value"):
            return str(pair["Value"])
    return "1"


def _maybe(realm: SandboxRealm, entity: str, qbo_id: str) -> SandboxEntity | None:
    return SandboxEntity.objects.filter(realm=realm, entity=entity, qbo_id=str(qbo_id), deleted=False).first()


# ---------------------------------------------------------------- invoices


def _is_number(value) -> bool:
    # Absent, null and "" (which the JSON binding reads as null; python-quickbooks sends it) pass.
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)).is_finite()
    except (InvalidOperation, ValueError):
        return False


def check_numbers(payload: dict, entity: str) -> None:
    """Number fields must hold numbers (JSON numbers or numeric strings), as QBO's JSON binding
    requires: `"Amount": "abc"` is a 400 ValidationFault 2010, never a server error."""
    top = ("Deposit", "ExchangeRate", "TotalAmt")
    for key in top:
        if not _is_number(payload.get(key)):
            raise faults.invalid_number(key, payload.get(key))
    tax = payload.get("TxnTaxDetail")
    if isinstance(tax, dict) and not _is_number(tax.get("TotalTax")):
        raise faults.invalid_number("TxnTaxDetail.TotalTax", tax.get("TotalTax"))
    for line in payload.get("Line") or []:
        if not isinstance(line, dict):
            continue
        if not _is_number(line.get("Amount")):
            raise faults.invalid_number("Line.Amount", line.get("Amount"))
        for detail_key, keys in (
            ("SalesItemLineDetail", ("Qty", "UnitPrice", "TaxInclusiveAmt")),
            ("DiscountLineDetail", ("DiscountPercent",)),
        ):
            detail = line.get(detail_key)
            if isinstance(detail, dict):
                for key in keys:
                    if not _is_number(detail.get(key)):
                        raise faults.invalid_number(f"Line.{detail_key}.{key}", detail.get(key))


def _check_doc_number(
    realm: SandboxRealm, doc_number: str, existing: SandboxEntity | None, entity: str = "Invoice"
) -> None:
    """6140 when the company uses its own numbers (SalesFormsPrefs.CustomTxnNumbers) and another
    live invoice (credit memo) already has this one; `include=allowduplicatedocnum` lets it through."""
    prefs = preferences(realm).get("SalesFormsPrefs") or {}
    if not prefs.get("CustomTxnNumbers") or allow_duplicate_doc_number.get():
        return
    for row in rows(realm=realm, entity=entity):
        if (existing is None or row.qbo_id != existing.qbo_id) and row.data.get("DocNumber") == doc_number:
            raise faults.duplicate_doc_number(doc_number, row.qbo_id)


def _tax_rates_of_code(realm: SandboxRealm, code_row: SandboxEntity) -> list[tuple[str, Decimal]]:
    out = []
    for detail in (code_row.data.get("SalesTaxRateList") or {}).get("TaxRateDetail", []):
        rate_id = _ref_id(detail.get("TaxRateRef"))
        rate = _maybe(realm, "TaxRate", rate_id)
        if rate is not None:
            out.append((rate_id, Decimal(str(rate.data.get("RateValue", 0)))))
    return out


def _due_date(realm: SandboxRealm, txn_date: dt.date, term_id: str) -> str:
    term = _maybe(realm, "Term", term_id) if term_id else None
    days = int(term.data.get("DueDays", 0)) if term is not None else 0
    return (txn_date + dt.timedelta(days=days)).isoformat()


def _override_tax(tax_detail: dict, requested: Decimal, *, computed: Decimal) -> Decimal:
    """Set the transaction's total tax to `requested`, spreading it over the tax lines by their share."""
    lines = tax_detail.get("TaxLine") or []
    remaining = requested
    for index, line in enumerate(lines):
        if index == len(lines) - 1:
            share = remaining
        else:
            share = money(requested * money(line.get("Amount")) / computed) if computed else Decimal("0")
        line["Amount"] = as_number(share)
        remaining -= share
    tax_detail["TotalTax"] = as_number(requested)
    return requested


def _compute_invoice(
    realm: SandboxRealm, payload: dict, existing: SandboxEntity | None, entity: str = "Invoice"
) -> dict:
    """Apply QBO's create/update rules to an invoice (or credit memo: same sales lines, customer,
    currency, tax and numbering; no due date, deposit or online payment) and compute its totals."""
    invoice = entity == "Invoice"
    data = {k: v for k, v in payload.items() if v is not None}
    check_numbers(data, entity)
    customer_id = _ref_id(data.get("CustomerRef"))
    if not customer_id:
        raise faults.required_param("CustomerRef")
    customer = _maybe(realm, "Customer", customer_id)
    if customer is None or not customer.data.get("Active", True):
        raise faults.invalid_reference("CustomerRef", f"Customer {customer_id} is not an active customer.")
    data["CustomerRef"] = {"value": customer_id, "name": customer.data.get("DisplayName")}
    lines = data.get("Line")
    if not isinstance(lines, list) or not lines:
        raise faults.required_param("Line")
    if len(lines) > 750:
        raise faults.business_validation("A transaction can have at most 750 lines.", "Line")
    _check_lengths(
        data, {"DocNumber": 21, "PrivateNote": 4000, "CustomerMemo": 1000, "BillEmail": 100, "TrackingNum": 31}
    )
    for key in ("BillEmail", "BillEmailCc", "BillEmailBcc"):
        address = (data.get(key) or {}).get("Address")
        if address and not EMAIL_RE.match(address.strip()):
            raise faults.invalid_email(key)
    prefs = preferences(realm)
    us = is_us(realm)

    # Currency: the customer's, which must be the home currency unless multicurrency is on.
    customer_currency = _ref_id(customer.data.get("CurrencyRef")) or realm.home_currency
    code = _ref_id(data.get("CurrencyRef")) or customer_currency
    _check_currency(realm, code)
    if code != customer_currency:
        raise faults.business_validation(
            f"The currency of the transaction ({code}) must match the currency of the customer ({customer_currency}).",
            "CurrencyRef",
        )
    data["CurrencyRef"] = currency_ref(code)

    # Dates and terms.
    txn_date_text = data.get("TxnDate") or (existing.data.get("TxnDate") if existing else None)
    try:
        txn_date = dt.date.fromisoformat(txn_date_text) if txn_date_text else clock.today(realm.timezone)
    except ValueError:
        raise faults.business_validation(f"Invalid date {txn_date_text!r}.", "TxnDate") from None
    data["TxnDate"] = txn_date.isoformat()
    term_id = (
        _ref_id(data.get("SalesTermRef"))
        or _ref_id(customer.data.get("SalesTermRef"))
        or _ref_id((prefs.get("SalesFormsPrefs") or {}).get("DefaultTerms"))
    )
    if invoice and not data.get("DueDate"):
        data["DueDate"] = _due_date(realm, txn_date, term_id)

    if not data.get("DocNumber") or data.get("DocNumber") == "AUTO_GENERATE":
        if existing and existing.data.get("DocNumber") and data.get("DocNumber") != "AUTO_GENERATE":
            data["DocNumber"] = existing.data["DocNumber"]
        else:
            data["DocNumber"] = str(realm.next_doc_number)
            SandboxRealm.objects.filter(pk=realm.pk).update(next_doc_number=realm.next_doc_number + 1)
            realm.next_doc_number += 1
    elif existing is None or data["DocNumber"] != existing.data.get("DocNumber"):
        _check_doc_number(realm, str(data["DocNumber"]), existing, entity)
    # On create, QBO copies the customer's addresses onto the invoice, but not its email: the
    # recorded create (fixture accounting/invoice_create_response.json, customer "Amy's Bird
    # Sanctuary", who has an email) has no BillEmail. The client must send BillEmail itself.
    for key in ("BillAddr", "ShipAddr"):
        if existing is None and not data.get(key) and customer.data.get(key):
            data[key] = customer.data[key]
        if data.get(key):
            data[key] = geocoded(data[key])

    # Tax model.
    if us:
        data.pop("GlobalTaxCalculation", None)
    else:
        data.setdefault("GlobalTaxCalculation", "TaxExcluded")
        if data["GlobalTaxCalculation"] not in {"TaxExcluded", "TaxInclusive", "NotApplicable"}:
            raise faults.invalid_enum("GlobalTaxCalculation", str(data["GlobalTaxCalculation"]))
    mode = data.get("GlobalTaxCalculation", "TaxExcluded")

    out_lines = []
    subtotal = Decimal("0")
    discount_total = Decimal("0")
    taxable_us = Decimal("0")
    tax_by_rate: dict[str, list[Decimal]] = {}  # rate id -> [percent, net, tax]
    line_no = 0
    for raw in lines:
        if not isinstance(raw, dict) or not raw.get("DetailType"):
            raise faults.required_param("Line.DetailType")
        line = dict(raw)
        detail_type = line["DetailType"]
        if detail_type == "SubTotalLineDetail":
            continue  # QBO recomputes the trailing subtotal itself
        if detail_type == "SalesItemLineDetail":
            detail = dict(line.get("SalesItemLineDetail") or {})
            # No ItemRef: QBO uses the company's default item (Preferences OtherPrefs
            # "SalesFormsPrefs.DefaultItem", "1" = "Services" in the real fixture).
            item_id = _ref_id(detail.get("ItemRef")) or _default_item_id(prefs)
            item = _maybe(realm, "Item", item_id)
            if item is None or not item.data.get("Active", True):
                raise faults.invalid_reference(
                    "Line.SalesItemLineDetail.ItemRef", f"Item {item_id} does not exist or is inactive."
                )
            if item.data.get("Type") in {"Category", "Group", "Bundle"}:
                # Categories only group items; bundles go on GroupLineDetail lines.
                raise faults.invalid_reference(
                    "Line.SalesItemLineDetail.ItemRef", f"Item {item_id} is a {item.data['Type']}, not a sales item."
                )
            reimburse = any(lt.get("TxnType") == "ReimburseCharge" for lt in line.get("LinkedTxn") or [])
            booked = _ref_id(item.data.get("IncomeAccountRef"))
            if _ref_id(detail.get("ItemAccountRef")) not in ("", booked) and not reimburse:
                # Intuit (Invoice entity, SalesItemLineDetail.ItemAccountRef): "Available with invoice
                # objects, only, and when there is a linkedtxn of type ReimburseCharge". A sales line
                # books to its item's IncomeAccountRef (Intuit staff, QuickBooks-V3-DotNET-SDK #5).
                # Reading an invoice back gives the item's account there (round trips are fine); naming
                # another account is refused here, so code relying on it to choose one fails a test.
                raise faults.business_validation(
                    "ItemAccountRef is only supported on lines linked to a ReimburseCharge; a line is "
                    "booked to its item's income account.",
                    "Line.SalesItemLineDetail.ItemAccountRef",
                )
            detail["ItemRef"] = {"value": item_id, "name": item.data.get("Name")}
            if item.data.get("IncomeAccountRef") and not reimburse:
                detail["ItemAccountRef"] = dict(item.data["IncomeAccountRef"])  # as QBO reads it back
            qty = detail.get("Qty")
            price = detail.get("UnitPrice")
            if line.get("Amount") is None:
                if qty is None or price is None:
                    raise faults.required_param("Line.Amount")
                amount = money(Decimal(str(qty)) * Decimal(str(price)))
            else:
                amount = money(line["Amount"])
                # Checked only when both are given and non-zero (clients send 0/0 placeholders).
                if qty and price and money(Decimal(str(qty)) * Decimal(str(price))) != amount:
                    raise QboFault(
                        "6070",
                        "Amount calculation incorrect in the request",
                        "Amount is not equal to UnitPrice * Qty. Supplied value:" + str(amount),
                        element="Line.Amount",
                    )
            tax_code = _ref_id(detail.get("TaxCodeRef"))
            gross = amount
            if us:
                if not tax_code:
                    tax_code = "TAX" if item.data.get("Taxable") and customer.data.get("Taxable", True) else "NON"
                if tax_code not in {"TAX", "NON"}:
                    raise QboFault(
                        "6100",
                        "Invalid Line TaxCode",
                        "Valid Line TaxCodes for US should be TAX or NON",
                        element="Line.SalesItemLineDetail.TaxCodeRef",
                    )
                if tax_code == "TAX":
                    taxable_us += amount
            elif mode != "NotApplicable":
                if not tax_code:
                    tax_code = _ref_id(item.data.get("SalesTaxCodeRef"))
                if not tax_code:
                    raise faults.business_validation(
                        "Make sure all your transactions have a VAT rate before you save.",
                        "Line.SalesItemLineDetail.TaxCodeRef",
                    )
                code_row = _maybe(realm, "TaxCode", tax_code)
                if code_row is None:
                    raise faults.invalid_reference(
                        "Line.SalesItemLineDetail.TaxCodeRef", f"TaxCode {tax_code} does not exist."
                    )
                rates = _tax_rates_of_code(realm, code_row)
                total_pct = sum((pct for _, pct in rates), Decimal("0"))
                if mode == "TaxInclusive":
                    # SalesItemLineDetail.TaxInclusiveAmt (XSD); a line-level one is accepted too.
                    given = detail.get("TaxInclusiveAmt", line.get("TaxInclusiveAmt"))
                    gross = money(given if given is not None else amount)
                    amount = money(gross / (1 + total_pct / 100)) if total_pct else gross
                    detail["TaxInclusiveAmt"] = as_number(gross)
                    if qty:
                        detail["UnitPrice"] = as_number((amount / Decimal(str(qty))).quantize(Decimal("0.0000001")))
                for rate_id, pct in rates:
                    bucket = tax_by_rate.setdefault(rate_id, [pct, Decimal("0")])
                    bucket[1] += amount
            if tax_code:
                detail["TaxCodeRef"] = {"value": tax_code}
            line_no += 1
            line["Id"] = str(line_no)
            line["LineNum"] = line_no
            line["Amount"] = as_number(amount)
            line["SalesItemLineDetail"] = detail
            subtotal += amount
            out_lines.append(line)
        elif detail_type == "DiscountLineDetail":
            detail = dict(line.get("DiscountLineDetail") or {})
            if detail.get("PercentBased") and detail.get("DiscountPercent") is not None:
                amount = money(subtotal * Decimal(str(detail["DiscountPercent"])) / 100)
            else:
                amount = money(line.get("Amount") or 0)
            line["Amount"] = as_number(amount)
            discount_total += amount
            out_lines.append({**line, "DiscountLineDetail": detail})
        elif detail_type == "DescriptionOnly":
            line_no += 1
            line["Id"] = str(line_no)
            line["LineNum"] = line_no
            line.setdefault("DescriptionLineDetail", {})
            out_lines.append(line)
        else:
            raise faults.invalid_enum("Line.DetailType", str(detail_type))
    if not any(line["DetailType"] == "SalesItemLineDetail" for line in out_lines):
        raise faults.required_param("Line.SalesItemLineDetail")
    # The trailing subtotal goes after the item lines, before a discount line (docs send sample).
    first_discount = next(
        (i for i, line in enumerate(out_lines) if line["DetailType"] == "DiscountLineDetail"), len(out_lines)
    )
    out_lines.insert(
        first_discount, {"Amount": as_number(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    data["Line"] = out_lines

    # Tax.
    # An explicit TotalTax in a create is honoured and prorated over the tax lines (reference §8.2).
    # Updates recompute the tax (a stored TxnTaxDetail is not an override).
    requested_tax = (payload.get("TxnTaxDetail") or {}).get("TotalTax") if existing is None else None
    tax_detail: dict = {}
    total_tax = Decimal("0")
    if us:
        group_id = _ref_id((data.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef"))
        if not group_id and customer.data.get("Taxable", True):
            group_id = _ref_id(customer.data.get("DefaultTaxCodeRef"))
        if group_id and taxable_us:
            code_row = _maybe(realm, "TaxCode", group_id)
            if code_row is None:
                raise faults.invalid_reference("TxnTaxDetail.TxnTaxCodeRef", f"TaxCode {group_id} does not exist.")
            tax_lines = []
            for rate_id, pct in _tax_rates_of_code(realm, code_row):
                amount = money(taxable_us * pct / 100)
                total_tax += amount
                tax_lines.append(
                    {
                        "Amount": as_number(amount),
                        "DetailType": "TaxLineDetail",
                        "TaxLineDetail": {
                            "TaxRateRef": {"value": rate_id},
                            "PercentBased": True,
                            "TaxPercent": as_number(pct),
                            "NetAmountTaxable": as_number(taxable_us),
                        },
                    }
                )
            tax_detail = {"TxnTaxCodeRef": {"value": group_id}, "TotalTax": as_number(total_tax), "TaxLine": tax_lines}
        else:
            tax_detail = {"TotalTax": 0}
    else:
        tax_lines = []
        for rate_id, (pct, net) in tax_by_rate.items():
            amount = money(net * pct / 100)
            total_tax += amount
            tax_lines.append(
                {
                    "Amount": as_number(amount),
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rate_id},
                        "PercentBased": True,
                        "TaxPercent": as_number(pct),
                        "NetAmountTaxable": as_number(net),
                    },
                }
            )
        tax_detail = {"TotalTax": as_number(total_tax)}
        if tax_lines:
            tax_detail["TaxLine"] = tax_lines
    if requested_tax is not None:
        total_tax = _override_tax(tax_detail, money(requested_tax), computed=total_tax)
    data["TxnTaxDetail"] = tax_detail

    total = money(subtotal - discount_total + total_tax)
    if total < 0:
        # An invoice cannot total less than zero; QuickBooks wants a credit memo for that.
        raise faults.negative_total()
    data["TotalAmt"] = as_number(total)
    deposit = money(data.get("Deposit") or 0)
    if deposit:
        data["Deposit"] = as_number(deposit)
    data.setdefault("ApplyTaxAfterDiscount", False)
    data.setdefault("PrintStatus", "NeedToPrint")
    data.setdefault("EmailStatus", "NotSet")
    if data["EmailStatus"] not in {"NotSet", "NeedToSend", "EmailSent"}:
        raise faults.invalid_enum("EmailStatus", str(data["EmailStatus"]))
    if data["EmailStatus"] == "NeedToSend" and not (data.get("BillEmail") or {}).get("Address"):
        raise faults.required_param("BillEmail")
    for flag in ("AllowIPNPayment", "AllowOnlinePayment", "AllowOnlineCreditCardPayment", "AllowOnlineACHPayment"):
        if invoice:
            data.setdefault(flag, False)
    data.setdefault("CustomField", [{"DefinitionId": "1", "Name": "Crew #", "Type": "StringType"}])
    if code != realm.home_currency:
        rate = Decimal(str(data.get("ExchangeRate") or realm.exchange_rates.get(code, "1")))
        data["ExchangeRate"] = as_number(rate)
    for key in ("Balance", "HomeBalance", "HomeTotalAmt", "InvoiceLink", "RemainingCredit"):
        data.pop(key, None)
    if existing is not None:
        for key in ("EmailStatus", "DeliveryInfo"):
            if key not in payload and key in existing.data:
                data[key] = existing.data[key]
    return data


def applied_payments(realm: SandboxRealm, invoice_id: str, txn_type: str = "Invoice") -> list[tuple[str, Decimal]]:
    """(payment id, amount) of every live payment line linked to the invoice (or credit memo)."""
    out = []
    for row in rows(realm=realm, entity="Payment"):
        for line in row.data.get("Line", []):
            for linked in line.get("LinkedTxn", []):
                if linked.get("TxnType") == txn_type and str(linked.get("TxnId")) == str(invoice_id):
                    out.append((row.qbo_id, money(line.get("Amount"))))
    return out


def finalize_credit_memo(realm: SandboxRealm, credit_memo_id: str, data: dict) -> dict:
    """RemainingCredit = Balance = TotalAmt - the payment lines that use it. The docs' fully applied
    sample shows both 0 and no LinkedTxn, so the credit memo lists no payments."""
    used = sum((amount for _, amount in applied_payments(realm, credit_memo_id, "CreditMemo")), Decimal("0"))
    total = money(data.get("TotalAmt"))
    remaining = max(Decimal("0"), total - used)
    data["RemainingCredit"] = as_number(remaining)
    return _with_balance(realm, data, balance=remaining, total=total)


def _refresh_credit_memo(realm: SandboxRealm, credit_memo_id: str) -> None:
    """A payment used (or gave back) credit: recompute the credit memo's remaining credit."""
    row = _maybe(realm, "CreditMemo", credit_memo_id)
    if row is None:
        return
    save(row=row, data=finalize_credit_memo(realm, credit_memo_id, dict(row.data)))


def payment_amounts(lines: list[dict]) -> tuple[Decimal, Decimal]:
    """(applied to invoices, credit used) of a payment's lines: a line linking a CreditMemo is credit;
    any other line is money applied to what it links."""
    invoiced = credit = Decimal("0")
    for line in lines:
        amount = money(line.get("Amount"))
        if any(lt.get("TxnType") == "CreditMemo" for lt in line.get("LinkedTxn") or []):
            credit += amount
        else:
            invoiced += amount
    return invoiced, credit


def unlink_invoice(*, row: SandboxEntity, invoice_id: str) -> None:
    """Remove a payment's lines for `invoice_id` (voided or deleted in QuickBooks): its cash becomes
    unapplied; credit it no longer covers goes back to the credit memos (QBO keeps no credit applied
    to nothing). The caller refreshes the invoice; the credit memos are refreshed here."""
    data = dict(row.data)
    lines = [
        ln
        for ln in data.get("Line", [])
        if not any(
            lt.get("TxnType") == "Invoice" and str(lt.get("TxnId")) == invoice_id for lt in ln.get("LinkedTxn", [])
        )
    ]
    invoiced, credit = payment_amounts(lines)
    released = set()
    if credit > invoiced:
        released = _linked_ids({"Line": lines}, "CreditMemo")
        lines = [ln for ln in lines if not any(lt.get("TxnType") == "CreditMemo" for lt in ln.get("LinkedTxn", []))]
        invoiced, credit = payment_amounts(lines)
    data["Line"] = lines
    data["UnappliedAmt"] = as_number(money(data.get("TotalAmt")) - (invoiced - credit))
    save(row=row, data=data)
    for credit_memo_id in released:
        _refresh_credit_memo(row.realm, credit_memo_id)


def finalize_invoice(realm: SandboxRealm, invoice_id: str, data: dict) -> dict:
    """Balance = TotalAmt - Deposit - applied payments; LinkedTxn lists the payments."""
    payments = applied_payments(realm, invoice_id)
    paid = sum((amount for _, amount in payments), Decimal("0"))
    total = money(data.get("TotalAmt"))
    balance = max(Decimal("0"), total - money(data.get("Deposit") or 0) - paid)
    if data.get("_voided"):
        balance = Decimal("0")
    keep = [lt for lt in data.get("LinkedTxn", []) if lt.get("TxnType") != "Payment"]
    data["LinkedTxn"] = keep + [{"TxnId": pid, "TxnType": "Payment"} for pid in dict.fromkeys(p for p, _ in payments)]
    return _with_balance(realm, data, balance=balance, total=total)


def _with_balance(realm: SandboxRealm, data: dict, *, balance: Decimal, total: Decimal) -> dict:
    """`Balance`, and in a multicurrency company its home-currency twins at the transaction's rate."""
    data["Balance"] = as_number(balance)
    if realm.multicurrency:
        rate = Decimal(str(data.get("ExchangeRate") or 1))
        data["HomeBalance"] = as_number(money(balance * rate))
        data["HomeTotalAmt"] = as_number(money(total * rate))
    return data


def _refresh_invoice(realm: SandboxRealm, invoice_id: str, operation: str = "Update") -> None:
    """A payment changed: recompute the invoice's balance and links (a QBO-side write)."""
    row = _maybe(realm, "Invoice", invoice_id)
    if row is None:
        return
    data = finalize_invoice(realm, invoice_id, dict(row.data))
    save(row=row, data=data, operation=operation)


# ---------------------------------------------------------------- payments


def _undeposited_funds(realm: SandboxRealm) -> SandboxEntity | None:
    return next(
        (r for r in rows(realm=realm, entity="Account") if r.data.get("AccountSubType") == "UndepositedFunds"), None
    )


def _compute_payment(realm: SandboxRealm, payload: dict, existing: SandboxEntity | None) -> dict:
    data = dict(payload)
    check_numbers(data, "Payment")
    # Where the money goes: the given account, else Undeposited Funds (docs sample
    # docs-samples/payment_sample.json carries DepositToAccountRef; XSD Payment.DepositToAccountRef).
    account_id = _ref_id(data.get("DepositToAccountRef"))
    if account_id:
        account = _maybe(realm, "Account", account_id)
        if account is None or not account.data.get("Active", True):
            raise faults.invalid_reference("DepositToAccountRef", f"Account {account_id} does not exist.")
        data["DepositToAccountRef"] = {"value": account_id}
    else:
        undeposited = _undeposited_funds(realm)
        if undeposited is not None:
            data["DepositToAccountRef"] = {"value": undeposited.qbo_id}
    customer_id = _ref_id(data.get("CustomerRef"))
    if not customer_id:
        raise faults.required_param("CustomerRef")
    customer = _maybe(realm, "Customer", customer_id)
    if customer is None:
        raise faults.invalid_reference("CustomerRef", f"Customer {customer_id} does not exist.")
    data["CustomerRef"] = {"value": customer_id, "name": customer.data.get("DisplayName")}
    if data.get("TotalAmt") is None:
        raise faults.required_param("TotalAmt")
    total = money(data["TotalAmt"])
    code = _ref_id(data.get("CurrencyRef")) or _ref_id(customer.data.get("CurrencyRef")) or realm.home_currency
    if code != (_ref_id(customer.data.get("CurrencyRef")) or realm.home_currency):
        raise faults.business_validation("The currency of the payment must match the currency of the customer.")
    data["CurrencyRef"] = currency_ref(code)
    lines = []
    for raw in data.get("Line") or []:
        amount = money(raw.get("Amount"))
        linked = raw.get("LinkedTxn") or []
        types = {lt.get("TxnType") for lt in linked}
        if types - {"Invoice", "CreditMemo"} or len(types) > 1:
            # A payment links Invoices and CreditMemos (Payment reference: "LinkedTxn: Zero or more
            # Invoice or CreditMemo transactions"), one kind per line.
            raise QboFault(
                "620", "TxnID Cannot Be Linked", f"Cannot link {sorted(map(str, types))}", element="LinkedTxn"
            )
        if types == {"CreditMemo"}:
            _check_credit_line(realm, linked, amount, customer_id=customer_id, existing=existing)
            lines.append({"Amount": as_number(amount), "LinkedTxn": linked})
            continue
        for lt in linked:
            invoice, already = _link_target(
                realm, "Invoice", lt.get("TxnId"), customer_id=customer_id, existing=existing
            )
            open_balance = money(invoice.data.get("TotalAmt")) - money(invoice.data.get("Deposit") or 0) - already
            if amount > open_balance:
                raise faults.business_validation(
                    f"The payment amount {amount} exceeds the open balance {open_balance} of invoice {invoice.qbo_id}.",
                    "Line.Amount",
                )
        lines.append({"Amount": as_number(amount), "LinkedTxn": linked})
    invoiced, credit = payment_amounts(lines)
    if credit > invoiced:
        # Credit pays invoices; it cannot turn into cash (a refund receipt does that).
        raise faults.business_validation(
            f"The credit applied {credit} is more than the amount applied to invoices {invoiced}.", "Line.Amount"
        )
    if invoiced - credit > total:
        raise faults.business_validation("The amount applied is more than the payment total.", "TotalAmt")
    data["Line"] = lines
    data["TotalAmt"] = as_number(total)
    data["UnappliedAmt"] = as_number(total - (invoiced - credit))
    data.setdefault("TxnDate", clock.today(realm.timezone).isoformat())
    data.setdefault("ProcessPayment", False)
    return data


def _link_target(
    realm: SandboxRealm, txn_type: str, txn_id, *, customer_id: str, existing: SandboxEntity | None
) -> tuple[SandboxEntity, Decimal]:
    """The invoice or credit memo a payment line links (it must exist and be the payment customer's)
    and what other payments already applied to it (this payment's earlier version not counted)."""
    row = _maybe(realm, txn_type, str(txn_id))
    if row is None:
        raise faults.business_validation(
            f"The entity {txn_type} {txn_id} that you are trying to link does not exist.", "LinkedTxn"
        )
    if _ref_id(row.data.get("CustomerRef")) != customer_id:
        noun = "invoice" if txn_type == "Invoice" else "credit memo"
        raise faults.business_validation(f"The {noun} belongs to another customer.", "LinkedTxn")
    already = sum(
        (a for pid, a in applied_payments(realm, row.qbo_id, txn_type) if not existing or pid != existing.qbo_id),
        Decimal("0"),
    )
    return row, already


def _check_credit_line(
    realm: SandboxRealm, linked: list[dict], amount: Decimal, *, customer_id: str, existing: SandboxEntity | None
) -> None:
    """A line using a credit memo: it exists, is the payment customer's, and has that much credit left
    (not counting what this payment used before)."""
    if amount <= 0:
        raise faults.business_validation("A credit line must have a positive amount.", "Line.Amount")
    for lt in linked:
        memo, used = _link_target(realm, "CreditMemo", lt.get("TxnId"), customer_id=customer_id, existing=existing)
        left = money(memo.data.get("TotalAmt")) - used
        if amount > left:
            raise faults.business_validation(
                f"The credit applied {amount} exceeds the remaining credit {left} of credit memo {memo.qbo_id}.",
                "Line.Amount",
            )


def _linked_ids(data: dict, txn_type: str) -> set[str]:
    return {
        str(lt.get("TxnId"))
        for line in data.get("Line", [])
        for lt in line.get("LinkedTxn", [])
        if lt.get("TxnType") == txn_type
    }


def _linked_invoice_ids(data: dict) -> set[str]:
    return _linked_ids(data, "Invoice")


def _refresh_links(realm: SandboxRealm, before: dict, after: dict) -> None:
    """A payment changed: the invoices and credit memos it links (before or after) are recomputed."""
    for invoice_id in _linked_invoice_ids(before) | _linked_invoice_ids(after):
        _refresh_invoice(realm, invoice_id)
    for credit_memo_id in _linked_ids(before, "CreditMemo") | _linked_ids(after, "CreditMemo"):
        _refresh_credit_memo(realm, credit_memo_id)


# ---------------------------------------------------------------- public operations


def build(*, realm: SandboxRealm, spec: Spec, payload: dict, existing: SandboxEntity | None) -> dict:
    """Validate a create/full-update body and return the stored object (without Id/SyncToken/MetaData)."""
    if spec.name == "Customer":
        return _customer(realm, payload, existing)
    if spec.name in {"Item", "Account", "Term"}:
        return _named(realm, spec.name, payload, existing)
    if spec.name == "CompanyCurrency":
        return _currency_entity(realm, payload, existing)
    if spec.name == "Invoice":
        return _compute_invoice(realm, payload, existing)
    if spec.name == "Payment":
        return _compute_payment(realm, payload, existing)
    if spec.name == "CreditMemo":
        return _compute_invoice(realm, payload, existing, entity="CreditMemo")
    raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}")


def _strip(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in {"Id", "SyncToken", "sparse", "domain", "MetaData", "status"}}


def create(*, realm: SandboxRealm, spec: Spec, payload: dict) -> dict:
    """POST /{entity} without an Id: a new object."""
    if spec.kind in {"readonly", "prefs"}:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}")
    _check_known(spec, payload)
    data = build(realm=realm, spec=spec, payload=_strip(payload), existing=None)
    row = insert(realm=realm, entity=spec.name, data=data)
    if spec.name == "Invoice":
        row.data = finalize_invoice(realm, row.qbo_id, row.data)
        row.save(update_fields=["data"])
    if spec.name == "CreditMemo":
        row.data = finalize_credit_memo(realm, row.qbo_id, row.data)
        row.save(update_fields=["data"])
    if spec.name == "Payment":
        _refresh_links(realm, {}, row.data)
    return row.data


def update(*, realm: SandboxRealm, spec: Spec, payload: dict) -> dict:
    """POST /{entity} with Id + SyncToken: full update, or sparse when `"sparse": true`."""
    if spec.kind in {"readonly", "prefs"}:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}")
    _check_known(spec, payload)
    row = get_row(realm=realm, entity=spec.name, qbo_id=str(payload.get("Id")), for_update=True)
    _check_sync_token(row, payload)
    if row.data.get("_voided") and spec.name == "Invoice":
        raise faults.business_validation("A voided transaction cannot be changed.")
    sparse = payload.get("sparse") in (True, "true")
    changes = _strip(payload)
    if sparse:
        if spec.name == "Customer" and "DisplayName" in changes and not changes["DisplayName"]:
            raise faults.business_validation("DisplayName cannot be removed with sparse update.", "DisplayName")
        base = {k: v for k, v in row.data.items() if not k.startswith("_")}
        base = _strip(base)
        base.update(changes)
        if spec.name in {"Invoice", "CreditMemo"} and "Line" not in changes:
            base["Line"] = [ln for ln in base.get("Line", []) if ln.get("DetailType") != "SubTotalLineDetail"]
        if spec.name == "Invoice" and "DueDate" not in changes and ("TxnDate" in changes or "SalesTermRef" in changes):
            base.pop("DueDate", None)
    else:
        base = changes
        if spec.name in {"Invoice", "CreditMemo"}:
            # Full update: writable fields omitted become empty; server-owned ones stay.
            for key in ("DocNumber", "TxnDate"):
                if key not in base and key in row.data:
                    base[key] = row.data[key]
    before = dict(row.data) if spec.name == "Payment" else {}
    data = build(realm=realm, spec=spec, payload=base, existing=row)
    if spec.name == "Customer" and not data.get("Active", True):
        open_balance = sum(
            (
                money(inv.data.get("Balance"))
                for inv in rows(realm=realm, entity="Invoice")
                if _ref_id(inv.data.get("CustomerRef")) == row.qbo_id
            ),
            Decimal("0"),
        )
        if open_balance > 0:
            raise faults.business_validation(
                "Delete List Has Balance Error: The entity you are trying to delete has an open balance."
            )
    if spec.name == "Invoice":
        data = finalize_invoice(realm, row.qbo_id, data)
    if spec.name == "CreditMemo":
        used = sum((a for _, a in applied_payments(realm, row.qbo_id, "CreditMemo")), Decimal("0"))
        if money(data.get("TotalAmt")) < used:
            # Our choice (undocumented): an edit may not take back credit payments already used.
            raise faults.business_validation(
                f"The credit memo total is less than the credit already applied ({used}).", "TotalAmt"
            )
        data = finalize_credit_memo(realm, row.qbo_id, data)
    save(row=row, data=data)
    if spec.name == "Payment":
        _refresh_links(realm, before, row.data)
    return row.data


def delete(*, realm: SandboxRealm, spec: Spec, payload: dict) -> dict:
    """POST /{entity}?operation=delete: transactions only; answers the Deleted stub."""
    if spec.kind != "txn":
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}?operation=delete")
    if not payload.get("Id"):
        raise faults.required_param("Id")
    row = get_row(realm=realm, entity=spec.name, qbo_id=str(payload.get("Id")), for_update=True)
    _check_sync_token(row, payload)
    return delete_row(realm=realm, row=row)


def delete_row(*, realm: SandboxRealm, row: SandboxEntity) -> dict:
    if row.entity in {"Invoice", "CreditMemo"} and applied_payments(realm, row.qbo_id, row.entity):
        raise faults.business_validation(
            "This transaction is linked to payments. Unlink or delete the payments before deleting it."
        )
    now = clock.now()
    before = dict(row.data) if row.entity == "Payment" else {}
    row.deleted = True
    row.updated_at = now
    row.data = {
        **row.data,
        "MetaData": {**row.data.get("MetaData", {}), "LastUpdatedTime": clock.qbo_datetime(now, realm.timezone)},
    }
    row.save(update_fields=["deleted", "updated_at", "data"])
    if row.entity in WEBHOOK_ENTITIES:
        webhooks.queue_event(realm=realm, entity=row.entity, entity_id=row.qbo_id, operation="Delete", when=now)
    _refresh_links(realm, before, {})
    return {"domain": "QBO", "status": "Deleted", "Id": row.qbo_id}


def deleted_stub(row: SandboxEntity) -> dict:
    return {
        "status": "Deleted",
        "domain": "QBO",
        "Id": row.qbo_id,
        "MetaData": {"LastUpdatedTime": row.data.get("MetaData", {}).get("LastUpdatedTime")},
    }


def void(*, realm: SandboxRealm, spec: Spec, payload: dict) -> dict:
    """Invoice `?operation=void` or Payment `?operation=update&include=void`."""
    if spec.name not in {"Invoice", "Payment"}:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}?operation=void")
    row = get_row(realm=realm, entity=spec.name, qbo_id=str(payload.get("Id")), for_update=True)
    _check_sync_token(row, payload)
    return void_row(realm=realm, row=row)


def void_row(*, realm: SandboxRealm, row: SandboxEntity) -> dict:
    data = dict(row.data)
    note = data.get("PrivateNote")
    data["PrivateNote"] = f"Voided - {note}" if note and not note.startswith("Voided") else (note or "Voided")
    data["TotalAmt"] = 0
    data["_voided"] = True
    if row.entity == "Payment":
        before = dict(data)
        data["Line"] = []
        data["UnappliedAmt"] = 0
        save(row=row, data=data, operation="Void")
        _refresh_links(realm, before, {})
        return row.data
    # Payments applied to a voided invoice are unlinked and become unapplied credit.
    for payment_id in dict.fromkeys(pid for pid, _amount in applied_payments(realm, row.qbo_id)):
        payment = _maybe(realm, "Payment", payment_id)
        if payment is not None:  # applied_payments read live payments: always found
            unlink_invoice(row=payment, invoice_id=row.qbo_id)
    lines = []
    for line in data.get("Line", []):
        line = {**line, "Amount": 0}
        detail = line.get("SalesItemLineDetail")
        if detail and "Qty" in detail:
            line["SalesItemLineDetail"] = {**detail, "Qty": 0}
        lines.append(line)
    data["Line"] = lines
    tax = dict(data.get("TxnTaxDetail") or {})
    tax["TotalTax"] = 0
    if tax.get("TaxLine"):
        tax["TaxLine"] = [{**tl, "Amount": 0} for tl in tax["TaxLine"]]
    data["TxnTaxDetail"] = tax
    data.pop("Deposit", None)
    data = finalize_invoice(realm, row.qbo_id, data)
    save(row=row, data=data, operation="Void")
    return row.data


def send(*, realm: SandboxRealm, invoice_id: str, send_to: str | None) -> dict:
    # Without sendTo QBO mails the invoice's BillEmail; with neither there is no one to mail (6000).
    """POST /invoice/{id}/send: EmailStatus EmailSent, DeliveryInfo, BillEmail replaced by sendTo."""
    row = get_row(realm=realm, entity="Invoice", qbo_id=invoice_id, for_update=True)
    data = dict(row.data)
    if send_to:
        if len(send_to) > 100 or not EMAIL_RE.match(send_to.strip()):
            raise faults.invalid_email("BillEmail")
        data["BillEmail"] = {"Address": send_to.strip()}
    if not (data.get("BillEmail") or {}).get("Address"):
        raise faults.business_validation("Please provide an email address to send this invoice to.", "BillEmail")
    now = clock.now()
    data["EmailStatus"] = "EmailSent"
    data["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": clock.qbo_datetime(now, realm.timezone)}
    # The docs sample keeps SyncToken while LastUpdatedTime moves; we follow it.
    save(row=row, data=data, operation="Update", bump=False)
    return row.data


def customer_balances(realm: SandboxRealm) -> dict[str, Decimal]:
    """Open balance per customer id: invoice balances minus unapplied payments minus the remaining
    credit of credit memos (QBO's customer "Open balance" nets its credits; README)."""
    totals: dict[str, Decimal] = {}
    for inv in rows(realm=realm, entity="Invoice"):
        key = _ref_id(inv.data.get("CustomerRef"))
        totals[key] = totals.get(key, Decimal("0")) + money(inv.data.get("Balance"))
    for pay in rows(realm=realm, entity="Payment"):
        key = _ref_id(pay.data.get("CustomerRef"))
        totals[key] = totals.get(key, Decimal("0")) - money(pay.data.get("UnappliedAmt"))
    for memo in rows(realm=realm, entity="CreditMemo"):
        key = _ref_id(memo.data.get("CustomerRef"))
        totals[key] = totals.get(key, Decimal("0")) - money(memo.data.get("RemainingCredit"))
    return totals


def present(realm: SandboxRealm, row: SandboxEntity, balances: dict[str, Decimal] | None = None) -> dict:
    """The object as the API returns it: private keys dropped, live balances filled in.

    Pass `balances` (from `customer_balances`) when presenting many customers at once."""
    if row.deleted:
        return deleted_stub(row)
    data = {k: v for k, v in row.data.items() if not k.startswith("_")}
    if row.entity == "Customer":
        if balances is None:
            balances = customer_balances(realm)
        balance = balances.get(row.qbo_id, Decimal("0"))
        data["Balance"] = as_number(balance)
        data["BalanceWithJobs"] = as_number(balance)
    return data
