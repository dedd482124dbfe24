"""Seed companies of the QuickBooks sandbox: a US company (USD, sales tax) and a UK company
(GBP, VAT codes, multicurrency on). Idempotent; ids are stable so tests and demos can name them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from django.db import transaction

from integration.sandbox.quickbooks import services
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm

US_REALM_ID = "9130350000000001"
UK_REALM_ID = "9130350000000002"

_TERMS = [
    (
        "1",
        {
            "Name": "Due on receipt",
            "Type": "STANDARD",
            "DueDays": 0,
            "DiscountPercent": 0,
            "DiscountDays": 0,
            "Active": True,
        },
    ),
    (
        "2",
        {"Name": "Net 15", "Type": "STANDARD", "DueDays": 15, "DiscountPercent": 0, "DiscountDays": 0, "Active": True},
    ),
    (
        "3",
        {"Name": "Net 30", "Type": "STANDARD", "DueDays": 30, "DiscountPercent": 0, "DiscountDays": 0, "Active": True},
    ),
    (
        "4",
        {"Name": "Net 60", "Type": "STANDARD", "DueDays": 60, "DiscountPercent": 0, "DiscountDays": 0, "Active": True},
    ),
]


def _account(name, account_type, sub_type, currency, active=True):
    classification = {
        "Income": "Revenue",
        "Bank": "Asset",
        "Other Current Asset": "Asset",
        "Accounts Receivable": "Asset",
    }[account_type]
    return {
        "Name": name,
        "SubAccount": False,
        "FullyQualifiedName": name,
        "Active": active,
        "Classification": classification,
        "AccountType": account_type,
        "AccountSubType": sub_type,
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        "CurrencyRef": services.currency_ref(currency),
    }


def _item(name, price, income, taxable=None, *, kind="Service", description=None, active=True, tax_code=None):
    data = {
        "Name": name,
        "Active": active,
        "FullyQualifiedName": name,
        "UnitPrice": price,
        "Type": kind,
        "IncomeAccountRef": income,
        "PurchaseCost": 0,
        "TrackQtyOnHand": False,
    }
    if description:
        data["Description"] = description
    if taxable is not None:
        data["Taxable"] = taxable
    if tax_code:
        data["SalesTaxCodeRef"] = {"value": tax_code}
    return data


def _customer(
    name,
    currency,
    *,
    email=None,
    addr=None,
    active=True,
    taxable=None,
    tax_code=None,
    given=None,
    family=None,
    company=None,
):
    data = {
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": services.currency_ref(currency),
        "PreferredDeliveryMethod": "Print",
        "FullyQualifiedName": name,
        "DisplayName": name,
        "PrintOnCheckName": name,
        "Active": active,
    }
    if taxable is not None:
        data = {"Taxable": taxable, **data}
    if given:
        data["GivenName"] = given
    if family:
        data["FamilyName"] = family
    if company:
        data["CompanyName"] = company
    if addr:
        data["BillAddr"] = services.geocoded(addr)
        data["ShipAddr"] = services.geocoded(addr)
    data["PrimaryPhone"] = {"FreeFormNumber": "(650) 555-0142"}
    if email:
        data["PrimaryEmailAddr"] = {"Address": email}
    if tax_code:
        data["DefaultTaxCodeRef"] = {"value": tax_code}
    return data


def _tax_code(name, rate_ids, *, group=False, taxable=True):
    return {
        "Name": name,
        "Description": name,
        "Active": True,
        "Hidden": False,
        "Taxable": taxable,
        "TaxGroup": group,
        "SalesTaxRateList": {
            "TaxRateDetail": [
                {"TaxRateRef": {"value": rid, "name": rname}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
                for rid, rname in rate_ids
            ]
        },
        "PurchaseTaxRateList": {"TaxRateDetail": []},
    }


def _tax_rate(name, value, agency="1"):
    return {
        "Name": name,
        "Description": "Sales Tax",
        "Active": True,
        "RateValue": value,
        "AgencyRef": {"value": agency},
        "SpecialTaxType": "NONE",
        "DisplayType": "ReadOnly",
    }


def _preferences(*, currency, multicurrency, tax_group=None, company_name):
    tax_prefs: dict[str, object] = {"UsingSalesTax": True}
    if tax_group:
        tax_prefs["TaxGroupCodeRef"] = {"value": tax_group}
        tax_prefs["PartnerTaxEnabled"] = False
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomField": [
                {
                    "CustomField": [
                        {"Name": "SalesFormsPrefs.UseSalesCustom1", "Type": "BooleanType", "BooleanValue": True}
                    ]
                },
                {
                    "CustomField": [
                        {"Name": "SalesFormsPrefs.SalesCustomName1", "Type": "StringType", "StringValue": "Crew #"}
                    ]
                },
            ],
            "CustomTxnNumbers": False,
            "AllowDeposit": True,
            "AllowDiscount": True,
            "AllowEstimates": True,
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionAttachPDF": False,
            "ETransactionPaymentEnabled": False,
            "IPNSupportEnabled": False,
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultTerms": {"value": "3"},
            "UsingPriceLevels": False,
            "DefaultDiscountAccount": "86",
            "DefaultCustomerMessage": "Thank you for your business and have a great day!",
        },
        "EmailMessagesPrefs": {
            f"{kind}Message": {
                "Subject": f"{title} from {company_name}",
                "Message": f"Your {title.lower()} is attached.",
            }
            for kind, title in (
                ("Invoice", "Invoice"),
                ("Estimate", "Estimate"),
                ("SalesReceipt", "Sales Receipt"),
                ("Statement", "Statement"),
            )
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "POCustomField": [
                {
                    "CustomField": [
                        {"Name": "PurchasePrefs.UsePurchaseCustom1", "Type": "BooleanType", "BooleanValue": False}
                    ]
                }
            ],
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": tax_prefs,
        "CurrencyPrefs": {"MultiCurrencyEnabled": multicurrency, "HomeCurrency": {"value": currency}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {
                    "Name": "SalesFormsPrefs.DefaultCustomerMessage",
                    "Value": "Thank you for your business and have a great day!",
                },
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
            ]
        },
    }


def _company_info(*, name, country, addr, tz, email, start):
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": addr,
        "LegalAddr": addr,
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100"},
        "CompanyStartDate": start,
        "FiscalYearStartMonth": "January",
        "Country": country,
        "Email": {"Address": email},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "DefaultTimeZone": tz,
        "NameValue": [
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "NeoEnabled", "Value": "true"},
        ],
    }


US_ADDR = {
    "Id": "1",
    "Line1": "2500 Garcia Ave",
    "City": "Mountain View",
    "Country": "US",
    "CountrySubDivisionCode": "CA",
    "PostalCode": "94043",
}
UK_ADDR = {"Id": "1", "Line1": "10 Downing Lane", "City": "London", "Country": "GB", "PostalCode": "EC1A 1BB"}


def _us_entities():
    usd = "USD"
    return {
        "Account": [
            ("1", _account("Services", "Income", "ServiceFeeIncome", usd)),
            ("79", _account("Sales of Product Income", "Income", "SalesOfProductIncome", usd)),
            ("5", _account("Fees Billed", "Income", "ServiceFeeIncome", usd, active=False)),
            ("4", _account("Undeposited Funds", "Other Current Asset", "UndepositedFunds", usd)),
            ("35", _account("Checking", "Bank", "Checking", usd)),
            ("84", _account("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", usd)),
        ],
        "TaxRate": [("3", _tax_rate("California", 8)), ("2", _tax_rate("Tucson City", 2))],
        "TaxCode": [
            (
                "TAX",
                {
                    "Name": "TAX",
                    "Description": "TAX",
                    "Active": True,
                    "Hidden": False,
                    "Taxable": True,
                    "TaxGroup": False,
                },
            ),
            (
                "NON",
                {
                    "Name": "NON",
                    "Description": "NON",
                    "Active": True,
                    "Hidden": False,
                    "Taxable": False,
                    "TaxGroup": False,
                },
            ),
            ("2", _tax_code("California", [("3", "California")], group=True)),
            ("4", _tax_code("Tucson", [("2", "Tucson City")], group=True)),
        ],
        "Term": _TERMS,
        "Item": [
            ("1", _item("Services", 0, {"value": "1", "name": "Services"}, False)),
            ("2", _item("Hours", 50, {"value": "1", "name": "Services"}, False)),
            ("3", _item("Design", 75, {"value": "1", "name": "Services"}, False, description="Custom Design")),
            (
                "4",
                _item(
                    "Rock Fountain",
                    275,
                    {"value": "79", "name": "Sales of Product Income"},
                    True,
                    kind="NonInventory",
                    description="Rock Fountain",
                ),
            ),
            (
                "5",
                _item(
                    "Pump",
                    15,
                    {"value": "79", "name": "Sales of Product Income"},
                    True,
                    kind="NonInventory",
                    description="Fountain Pump",
                ),
            ),
            ("6", _item("Retired Service", 10, {"value": "1", "name": "Services"}, False, active=False)),
        ],
        "Customer": [
            (
                "1",
                _customer(
                    "Amy's Bird Sanctuary",
                    usd,
                    email="Birds@Intuit.com",
                    taxable=True,
                    tax_code="2",
                    given="Amy",
                    family="Lauterbach",
                    company="Amy's Bird Sanctuary",
                    addr={
                        "Id": "2",
                        "Line1": "4581 Finch St.",
                        "City": "Bayshore",
                        "CountrySubDivisionCode": "CA",
                        "PostalCode": "94326",
                    },
                ),
            ),
            (
                "2",
                _customer(
                    "Dukes Basketball Camp",
                    usd,
                    email="Dukes_bball@intuit.com",
                    taxable=True,
                    tax_code="2",
                    given="Peter",
                    family="Dukes",
                    company="Dukes Basketball Camp",
                    addr={
                        "Id": "6",
                        "Line1": "25 Court St.",
                        "City": "Tucson",
                        "CountrySubDivisionCode": "AZ",
                        "PostalCode": "85719",
                    },
                ),
            ),
            ("3", _customer("Red Rock Diner", usd, email="qbwebsamplecompany@yahoo.com", taxable=False)),
            ("4", _customer("Dormant Holdings LLC", usd, taxable=False, active=False)),
        ],
    }


def _uk_entities():
    gbp = "GBP"
    return {
        "Account": [
            ("1", _account("Sales", "Income", "SalesOfProductIncome", gbp)),
            ("2", _account("Consulting Income", "Income", "ServiceFeeIncome", gbp)),
            ("4", _account("Undeposited Funds", "Other Current Asset", "UndepositedFunds", gbp)),
            ("84", _account("Debtors", "Accounts Receivable", "AccountsReceivable", gbp)),
            ("85", _account("Debtors EUR", "Accounts Receivable", "AccountsReceivable", "EUR")),
        ],
        "TaxRate": [
            ("1", _tax_rate("20.0% S", 20)),
            ("2", _tax_rate("5.0% R", 5)),
            ("3", _tax_rate("0.0% Z", 0)),
            ("4", _tax_rate("Exempt", 0)),
        ],
        "TaxCode": [
            ("2", _tax_code("20.0% S", [("1", "20.0% S")])),
            ("3", _tax_code("5.0% R", [("2", "5.0% R")])),
            ("4", _tax_code("0.0% Z", [("3", "0.0% Z")])),
            ("5", _tax_code("Exempt", [("4", "Exempt")], taxable=False)),
        ],
        "Term": _TERMS,
        "Item": [
            (
                "1",
                _item(
                    "Consulting",
                    100,
                    {"value": "2", "name": "Consulting Income"},
                    tax_code="2",
                    description="Consulting (per hour)",
                ),
            ),
            ("2", _item("Workshop", 500, {"value": "2", "name": "Consulting Income"}, tax_code="2")),
            ("3", _item("Book", 20, {"value": "1", "name": "Sales"}, kind="NonInventory", tax_code="4")),
            ("4", _item("Retired Product", 5, {"value": "1", "name": "Sales"}, kind="NonInventory", active=False)),
        ],
        "CompanyCurrency": [
            ("1", {"Code": "EUR", "Name": "Euro", "Active": True}),
            ("2", {"Code": "USD", "Name": "United States Dollar", "Active": True}),
        ],
        "Customer": [
            (
                "1",
                _customer(
                    "Bright Ideas Ltd",
                    gbp,
                    email="accounts@brightideas.example",
                    company="Bright Ideas Ltd",
                    addr={"Id": "2", "Line1": "1 Market St", "City": "Leeds", "PostalCode": "LS1 1AA", "Country": "GB"},
                ),
            ),
            (
                "2",
                _customer(
                    "Euro Partners GmbH", "EUR", email="billing@europartners.example", company="Euro Partners GmbH"
                ),
            ),
            ("3", _customer("Atlantic Clients Inc", "USD", email="ap@atlantic.example")),
            ("4", _customer("Closed Account Ltd", gbp, active=False)),
        ],
    }


class RealmSpec(TypedDict):
    """One seeded company: its SandboxRealm columns, its lists and its CompanyInfo extras."""

    realm_id: str
    name: str
    country: str
    home_currency: str
    multicurrency: bool
    timezone: str
    exchange_rates: dict[str, str]
    entities: Callable[[], dict[str, Any]]
    addr: dict[str, str]
    tax_group: str | None
    email: str


REALMS: list[RealmSpec] = [
    {
        "realm_id": US_REALM_ID,
        "name": "Sandbox Landscaping Co. (US)",
        "country": "US",
        "home_currency": "USD",
        "multicurrency": False,
        "timezone": "America/Los_Angeles",
        "exchange_rates": {},
        "entities": _us_entities,
        "addr": US_ADDR,
        "tax_group": "2",
        "email": "owner@landscaping.example",
    },
    {
        "realm_id": UK_REALM_ID,
        "name": "Sandbox Design Ltd (UK)",
        "country": "GB",
        "home_currency": "GBP",
        "multicurrency": True,
        "timezone": "Europe/London",
        "exchange_rates": {"EUR": "0.86", "USD": "0.79"},
        "entities": _uk_entities,
        "addr": UK_ADDR,
        "tax_group": None,
        "email": "owner@design.example",
    },
]


@transaction.atomic
def seed() -> list[SandboxRealm]:
    """Create the seed companies and their lists if missing; existing objects are left alone."""
    realms = []
    for spec in REALMS:
        realm, _ = SandboxRealm.objects.get_or_create(
            realm_id=spec["realm_id"],
            defaults={
                "name": spec["name"],
                "country": spec["country"],
                "home_currency": spec["home_currency"],
                "multicurrency": spec["multicurrency"],
                "timezone": spec["timezone"],
                "exchange_rates": spec["exchange_rates"],
            },
        )
        entities = spec["entities"]()
        entities["Preferences"] = [
            (
                "1",
                _preferences(
                    currency=spec["home_currency"],
                    multicurrency=spec["multicurrency"],
                    tax_group=spec["tax_group"],
                    company_name=spec["name"],
                ),
            )
        ]
        entities["CompanyInfo"] = [
            (
                "1",
                _company_info(
                    name=spec["name"],
                    country=spec["country"],
                    addr=spec["addr"],
                    tz=spec["timezone"],
                    email=spec["email"],
                    start="2024-01-01",
                ),
            )
        ]
        existing = set(SandboxEntity.objects.filter(realm=realm).values_list("entity", "qbo_id"))
        for entity, items in entities.items():
            for qbo_id, data in items:
                if (entity, qbo_id) not in existing:
                    services.insert(realm=realm, entity=entity, data=dict(data), qbo_id=qbo_id, notify=False)
        realms.append(realm)
    return realms


@transaction.atomic
def reset() -> list[SandboxRealm]:
    """Forget everything (companies, tokens, calls, replays, failures, webhooks, clock) and re-seed."""
    from integration.sandbox.quickbooks import clock
    from integration.sandbox.quickbooks.models import (
        SandboxCall,
        SandboxFailure,
        SandboxWebhookDelivery,
    )

    SandboxRealm.objects.all().delete()  # cascades to entities, grants, tokens, codes, replays
    SandboxCall.objects.all().delete()
    SandboxFailure.objects.all().delete()
    SandboxWebhookDelivery.objects.all().delete()
    clock.reset()
    return seed()
