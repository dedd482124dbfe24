"""The query language subset: WHERE =, IN, LIKE, <, >, AND; ORDERBY; paging; COUNT; active-only lists."""

import pytest


def ids(response, entity):
    return [o["Id"] for o in response.json()["QueryResponse"].get(entity, [])]


@pytest.fixture
def invoices(us_api):
    made = []
    for customer, price, date in (("1", 100, "2026-01-10"), ("2", 250, "2026-02-10"), ("3", 40, "2026-03-10")):
        body = {
            "CustomerRef": {"value": customer},
            "TxnDate": date,
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": price,
                    "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "TaxCodeRef": {"value": "NON"}},
                }
            ],
        }
        made.append(us_api.post("invoice", body).json()["Invoice"])
    return made


def test_equals_in_and_and(us_api, invoices):
    a, b, c = invoices
    assert ids(us_api.query(f"select * from Invoice where Id = '{b['Id']}'"), "Invoice") == [b["Id"]]  # noqa: S608
    both = us_api.query(f"SELECT * FROM Invoice WHERE Id IN ('{a['Id']}', '{c['Id']}') ORDERBY Id")  # noqa: S608
    assert ids(both, "Invoice") == [a["Id"], c["Id"]]
    anded = us_api.query("select * from Invoice where CustomerRef = '2' and Balance > '100.00'")
    assert ids(anded, "Invoice") == [b["Id"]]


def test_less_greater_on_numbers_and_dates(us_api, invoices):
    _a, b, c = invoices
    assert ids(us_api.query("select * from Invoice where Balance < '100.00'"), "Invoice") == [c["Id"]]
    after = us_api.query("select * from Invoice where TxnDate > '2026-01-31' ORDERBY TxnDate DESC")
    assert ids(after, "Invoice") == [c["Id"], b["Id"]]
    since = us_api.query("select * from Invoice where MetaData.LastUpdatedTime > '2000-01-01T00:00:00-08:00'")
    assert len(ids(since, "Invoice")) == 3


def test_like_is_case_insensitive_with_percent(us_api):
    found = us_api.query("select * from Customer where DisplayName LIKE '%rock%'")
    assert ids(found, "Customer") == ["3"]
    starts = us_api.query("select * from Customer where DisplayName like 'D%' ")
    assert ids(starts, "Customer") == ["2"]  # Dormant Holdings is inactive: hidden by default


def test_name_lists_are_active_only_unless_asked(us_api):
    assert "4" not in ids(us_api.query("select * from Customer"), "Customer")
    everyone = us_api.query("select * from Customer where Active IN (true, false)")
    assert "4" in ids(everyone, "Customer")
    assert ids(us_api.query("select * from Customer where Active = false"), "Customer") == ["4"]


def test_paging_and_count(us_api):
    total = us_api.query("select count(*) from Item").json()["QueryResponse"]["totalCount"]
    assert total == 5
    page1 = us_api.query("select * from Item orderby Name startposition 1 maxresults 2").json()["QueryResponse"]
    page3 = us_api.query("select * from Item orderby Name startposition 5 maxresults 2").json()["QueryResponse"]
    assert [i["Name"] for i in page1["Item"]] == ["Design", "Hours"]
    assert page1["startPosition"] == 1 and page1["maxResults"] == 2
    assert [i["Name"] for i in page3["Item"]] == ["Services"] and page3["maxResults"] == 1


def test_maxresults_over_1000_is_refused(us_api):
    # Intuit: "QueryValidationError: value 5000 is too large. Max allowed value is 1000" (4001).
    response = us_api.query("select * from Item maxresults 5000")
    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "4001" and "Max allowed value is 1000" in error["Detail"]
    assert len(ids(us_api.query("select * from Item maxresults 1000"), "Item")) == 5


def test_post_query_with_text_body(us_api):
    response = us_api.post("query", raw="select * from Term where Name = 'Net 30'", content_type="application/text")
    assert [t["Name"] for t in response.json()["QueryResponse"]["Term"]] == ["Net 30"]


def test_projection_is_honoured_and_keywords_are_case_insensitive(us_api):
    response = us_api.query("SeLeCt Id, DisplayName FrOm customer WhErE id = '1'")
    assert ids(response, "Customer") == ["1"]
    (row,) = response.json()["QueryResponse"]["Customer"]
    assert set(row) == {"Id", "DisplayName", "domain", "sparse"} and row["sparse"] is True


@pytest.mark.parametrize(
    "text,code",
    [
        ("select * from Customer where DisplayName = 'x' or Id = '1'", "4000"),
        ("select * from Customer where", "4000"),
        ("delete from Customer", "4000"),
        ("select * from Vendorz", "4001"),
        ("select * from Customer where Nonsense = '1'", "4001"),
        ("select * from Customer where Id > '1'", "4001"),
    ],
)
def test_query_errors(us_api, text, code):
    response = us_api.query(text)
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == code


def test_escaped_apostrophe(us_api):
    assert ids(us_api.query("select * from Customer where DisplayName = 'Amy\\'s Bird Sanctuary'"), "Customer") == ["1"]


def test_preferences_and_taxcodes_are_queryable(us_api):
    prefs = us_api.query("select * from Preferences").json()["QueryResponse"]["Preferences"]
    assert prefs[0]["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    codes = [c["Id"] for c in us_api.query("select * from TaxCode").json()["QueryResponse"]["TaxCode"]]
    assert {"TAX", "NON", "2"} <= set(codes)
