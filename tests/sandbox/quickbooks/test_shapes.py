"""The sandbox's responses have the shape of Intuit's recorded ones (fixtures in qbo-reference)."""

import json

import pytest

from integration.sandbox.quickbooks import clock, controls
from tests.sandbox.quickbooks.conftest import BASE, US
from tests.sandbox.quickbooks.shapes import assert_same_shape, differences, fixture

# Keys the fixtures carry because of their particular data, not because QBO always sends them.
DATA_DEPENDENT = {
    "ProjectRef",
    "Lat",
    "Long",
    "PurchaseDesc",
    "ExpenseAccountRef",
    "AssetAccountRef",
    "QtyOnHand",
    "InvStartDate",
    "EmployerId",
    "ShipDate",
    "TrackingNum",
    "ClassRef",
    "DepartmentRef",
    "ShipMethodRef",
    "DepositToAccountRef",
    "PaymentMethodRef",
    "Line5",
    "Line4",
    "Line3",
    "Line2",
    "Country",
    "StringValue",
    "CustomerMemo",
    "Description",
    "Qty",
    "UnitPrice",
    "TxnTaxCodeRef",
    "TaxLine",
    "SalesTermRef",
    "ServiceDate",
    "LinkedTxn",
    "BillEmail",
    "PrivateNote",
    "DeliveryInfo",
    "Deposit",
    "DiscountLineDetail",
    "CountrySubDivisionCode",
    "ProcessPayment",
}


def _create_invoice(api, body=None):
    response = api.post("invoice", body or fixture("accounting/invoice_create_request.json"))
    assert response.status_code == 200, response.content
    return response.json()["Invoice"]


def test_compare_helper_catches_missing_keys_and_wrong_types():
    expected = {"A": {"B": 1, "C": "x"}, "L": [{"D": True}]}
    assert differences({"A": {"B": 1, "C": "y"}, "L": [{"D": False}]}, expected) == []
    assert differences({"A": {"B": "1"}, "L": [{}]}, expected) == [
        "$.A.B: string != number",
        "$.A.C: missing",
        "$.L[0].D: missing",
    ]


def test_invoice_create_read_void_delete_have_the_recorded_shapes(us_api):
    response = us_api.post("invoice", fixture("accounting/invoice_create_request.json"))
    assert response["Content-Type"] == "application/json;charset=utf-8"
    assert response["intuit_tid"].startswith("1-")
    assert response["Intuit-Tid"] == response["intuit_tid"]  # recorded name and the SDKs' name
    created = response.json()
    assert_same_shape(created, "accounting/invoice_create_response.json")
    invoice = created["Invoice"]
    # Server defaults as recorded: SyncToken 0, NON tax code, trailing subtotal, Net 30 due date.
    assert invoice["SyncToken"] == "0" and invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert invoice["TotalAmt"] == invoice["Balance"] == 100
    assert invoice["CustomerRef"] == {"value": "1", "name": "Amy's Bird Sanctuary"}
    assert b'"TotalAmt":100.00' in response.content  # money written like QBO: two decimals

    read = us_api.get(f"invoice/{invoice['Id']}").json()
    assert_same_shape(read, "accounting/invoice_read_response.json")

    voided = us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void").json()
    assert_same_shape(voided, "accounting/invoice_void_response.json")
    assert voided["Invoice"]["PrivateNote"] == "Voided" and voided["Invoice"]["SyncToken"] == "1"
    assert voided["Invoice"]["TotalAmt"] == 0 and voided["Invoice"]["Balance"] == 0

    other = _create_invoice(us_api)
    deleted = us_api.post("invoice", {"Id": other["Id"], "SyncToken": other["SyncToken"]}, operation="delete").json()
    expected = fixture("accounting/invoice_delete_response.json")
    assert set(deleted) == set(expected) and set(deleted["Invoice"]) == set(expected["Invoice"])
    assert deleted["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": other["Id"]}


def test_customer_create_read_update_and_query_shapes(us_api):
    created = us_api.post("customer", fixture("accounting/customer_create_request.json")).json()
    assert_same_shape(created, "accounting/customer_create_response.json")
    customer = created["Customer"]
    assert customer["DisplayName"] == customer["FullyQualifiedName"] == customer["PrintOnCheckName"] == "Doe5, Jane"
    assert customer["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}

    read = us_api.get("customer/2").json()
    assert_same_shape(read, "accounting/customer_read_response.json", optional=DATA_DEPENDENT)

    request = fixture("accounting/customer_full_update_request.json")
    request.update({"Id": customer["Id"], "SyncToken": customer["SyncToken"]})
    updated = us_api.post("customer", request).json()
    assert_same_shape(updated, "accounting/customer_full_update_response.json")
    assert updated["Customer"]["SyncToken"] == "1" and updated["Customer"]["DisplayName"] == "Jack Moe"

    found = us_api.query("select * from Customer where DisplayName = 'Amy\\'s Bird Sanctuary'").json()
    assert_same_shape(found, "accounting/customer_query_by_displayname_response.json", optional=DATA_DEPENDENT)
    assert [c["Id"] for c in found["QueryResponse"]["Customer"]] == ["1"]


def test_query_page_count_and_empty_shapes(us_api):
    page = us_api.query("SELECT * FROM Customer MAXRESULTS 2 STARTPOSITION 1").json()
    assert_same_shape(page, "accounting/query_page_response.json", optional=DATA_DEPENDENT)
    assert page["QueryResponse"]["maxResults"] == 2
    count = us_api.query("SELECT COUNT(*) FROM Customer").json()
    assert_same_shape(count, "accounting/query_count_response.json")
    assert set(count["QueryResponse"]) == {"totalCount"}
    empty = us_api.query("SELECT * FROM Customer STARTPOSITION 500").json()
    assert empty["QueryResponse"] == {} and set(empty) == {"QueryResponse", "time"}


def test_item_read_and_query_shapes(us_api):
    assert_same_shape(us_api.get("item/4").json(), "accounting/item_read_response.json", optional=DATA_DEPENDENT)
    assert_same_shape(
        us_api.query("select * from Item").json(), "accounting/item_query_response.json", optional=DATA_DEPENDENT
    )


def test_account_sparse_update_shape(us_api):
    account = us_api.get("account/5").json()["Account"]
    request = {**fixture("accounting/account_sparse_update_request.json"), "SyncToken": account["SyncToken"]}
    updated = us_api.post("account", request).json()
    assert_same_shape(updated, "accounting/account_sparse_update_response.json")
    assert updated["Account"]["Active"] is False and updated["Account"]["Name"] == "Fees Billed (deleted)"
    assert updated["Account"]["AccountType"] == "Income"  # sparse: untouched fields kept


def test_preferences_and_companyinfo_shapes(us_api):
    assert_same_shape(
        us_api.get("preferences").json(),
        "accounting/preferences_read_response.json",
        optional={"TaxGroupCodeRef", "DefaultDiscountAccount"} | DATA_DEPENDENT,
    )
    assert_same_shape(
        us_api.get(f"companyinfo/{US}").json(), "docs-samples/companyinfo_sample.json", optional=DATA_DEPENDENT
    )


def test_list_entity_reads_match_docs_samples(us_api, uk_api):
    assert_same_shape(us_api.get("taxcode/2").json(), "docs-samples/taxcode_sample.json")
    assert_same_shape(us_api.get("taxrate/3").json(), "docs-samples/taxrate_sample.json")
    assert_same_shape(us_api.get("term/4").json(), "docs-samples/term_sample.json")
    assert_same_shape(uk_api.get("companycurrency/1").json(), "docs-samples/companycurrency_sample.json")


def test_taxed_us_invoice_matches_the_docs_invoice_sample(us_api):
    body = {
        "CustomerRef": {"value": "2"},
        "Line": [
            {
                "Description": "Rock Fountain",
                "DetailType": "SalesItemLineDetail",
                "Amount": 275,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "4"},
                    "Qty": 1,
                    "UnitPrice": 275,
                    "TaxCodeRef": {"value": "TAX"},
                },
            },
            {
                "Description": "Fountain Pump",
                "DetailType": "SalesItemLineDetail",
                "Amount": 12.75,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": 1,
                    "UnitPrice": 12.75,
                    "TaxCodeRef": {"value": "TAX"},
                },
            },
        ],
        "CustomerMemo": {"value": "Thank you for your business and have a great day!"},
        "SalesTermRef": {"value": "3"},
        # The sample has a BillEmail because its request sent one; QBO does not copy the customer's.
        "BillEmail": {"Address": "Familiystore@intuit.com"},
    }
    invoice = us_api.post("invoice", body).json()
    assert_same_shape(
        invoice,
        "docs-samples/invoice_read_sample.json",
        optional={"ProjectRef", "Lat", "Long", "Line4", "Line3", "Line2", "StringValue", "LinkedTxn", "Deposit"},
    )
    tax = invoice["Invoice"]["TxnTaxDetail"]
    assert tax["TxnTaxCodeRef"] == {"value": "2"} and tax["TotalTax"] == 23.02  # 8% of 287.75
    assert invoice["Invoice"]["TotalAmt"] == 310.77


def test_send_and_payment_match_docs_samples(us_api):
    invoice = _create_invoice(us_api)
    sent = us_api.post(
        f"invoice/{invoice['Id']}/send", raw="", content_type="application/octet-stream", sendTo="ap@example.com"
    ).json()
    assert_same_shape(
        sent, "docs-samples/invoice_send_response_sample.json", optional=DATA_DEPENDENT | {"DeliveryTime"}
    )
    assert sent["Invoice"]["EmailStatus"] == "EmailSent"
    assert sent["Invoice"]["DeliveryInfo"]["DeliveryType"] == "Email"
    assert sent["Invoice"]["BillEmail"] == {"Address": "ap@example.com"}

    payment = us_api.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 25,
            "Line": [{"Amount": 25, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    ).json()
    assert_same_shape(payment, "docs-samples/payment_sample.json", optional=DATA_DEPENDENT)


def test_batch_response_shape_with_per_item_faults(us_api):
    invoice = _create_invoice(us_api)
    request = {
        "BatchItemRequest": [
            {"bId": "bid1", "operation": "create", "Customer": {"DisplayName": "Boraski Family Store"}},
            {"bId": "bid2", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
            {
                "bId": "bid3",
                "operation": "update",
                "Invoice": {"sparse": True, "Id": invoice["Id"], "SyncToken": "7", "PrivateNote": "A private note."},
            },
            {"bId": "bid4", "Query": "select * from Invoice where TotalAmt > '50.00'"},
        ]
    }
    response = us_api.post("batch", request)
    assert response.status_code == 200
    body = response.json()
    recorded = fixture("accounting/batch_response.json")
    assert set(body) == set(recorded)
    items = body["BatchItemResponse"]
    assert [i["bId"] for i in items] == ["bid1", "bid2", "bid3", "bid4"]
    assert_same_shape(items[1], recorded["BatchItemResponse"][1])
    assert_same_shape(items[2], recorded["BatchItemResponse"][2])
    assert items[1]["Fault"]["Error"][0]["code"] == "610"
    assert items[2]["Fault"]["Error"][0]["code"] == "5010"
    assert items[0]["Customer"]["DisplayName"] == "Boraski Family Store"
    assert set(items[3]["QueryResponse"]) == {"Invoice", "startPosition", "maxResults"}


def test_cdc_shapes_including_deleted_stubs(us_api):
    since = clock.now().isoformat()
    invoice = _create_invoice(us_api)
    kept = _create_invoice(us_api)
    us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    body = us_api.get("cdc", entities="Invoice,Customer", changedSince=since).json()
    recorded = fixture("accounting/cdc_response.json")
    assert set(body) == set(recorded)
    groups = body["CDCResponse"][0]["QueryResponse"]
    assert len(groups) == 2 and groups[1] == {}  # no customer changed
    objects = groups[0]["Invoice"]
    assert [o["Id"] for o in objects] == [kept["Id"], invoice["Id"]]  # deleted ones after active ones
    assert objects[1] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": invoice["Id"],
        "MetaData": {"LastUpdatedTime": objects[1]["MetaData"]["LastUpdatedTime"]},
    }
    stub = fixture("docs-samples/cdc_response_with_deleted_sample.json")["CDCResponse"][0]["QueryResponse"][1]
    assert_same_shape(objects[1], stub["Estimate"][2])


@pytest.mark.parametrize(
    "fixture_name,call",
    [
        ("errors/400_duplicate_name_6240.json", lambda api: api.post("customer", {"DisplayName": "red rock diner"})),
        ("errors/400_invalid_query_4001.json", lambda api: api.query("select * from Custmoer")),
        ("errors/400_query_parse_error_4000.json", lambda api: api.query("select * from Customer where DisplayName")),
        (
            "errors/400_unsupported_property_2010.json",
            lambda api: api.post("invoice", {"BadJson": 1, "CustomerRef": {"value": "1"}}),
        ),
        ("errors/400_invalid_id_2030.json", lambda api: api.get("customer/1.5")),
        ("errors/400_unsupported_operation_500.json", lambda api: api.get("customer/1/5")),
        ("errors/400_object_not_found_610.json", lambda api: api.get("item/999")),
        (
            "errors/400_required_param_missing_2020.json",
            lambda api: api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [{"Amount": 1}]}),
        ),
        ("errors/400_required_param_missing_2020_name.json", lambda api: api.post("item", {"Type": "Service"})),
        (
            "errors/400_stale_object_5010.json",
            lambda api: api.post("customer", {"Id": "3", "SyncToken": "9", "sparse": True, "Notes": "x"}),
        ),
    ],
)
def test_faults_match_the_recorded_bodies(us_api, fixture_name, call):
    response = call(us_api)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response["intuit_tid"]
    body = response.json()
    expected = fixture(fixture_name)
    assert_same_shape(body, expected, optional={"time", "element"})
    assert body["Fault"]["type"] == "ValidationFault"
    assert {"Message", "Detail", "code"} <= set(body["Fault"]["Error"][0]) <= {"Message", "Detail", "code", "element"}
    assert body["Fault"]["Error"][0]["code"] == expected["Fault"]["Error"][0]["code"]
    assert body["Fault"]["Error"][0]["Message"] == expected["Fault"]["Error"][0]["Message"]


def test_exact_fault_texts_for_recorded_messages(us_api):
    dup = us_api.post("customer", {"DisplayName": "Red Rock Diner"}).json()
    assert dup["Fault"]["Error"] == fixture("errors/400_duplicate_name_6240.json")["Fault"]["Error"]
    bad_id = us_api.get("customer/1.5").json()
    assert bad_id == fixture("errors/400_invalid_id_2030.json") | {"time": bad_id["time"]}
    missing = us_api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [{"Amount": 1}]}).json()
    assert missing["Fault"]["Error"] == fixture("errors/400_required_param_missing_2020.json")["Fault"]["Error"]


def test_401_has_the_recorded_gateway_shape_and_header(client, qbo_realms):
    response = client.get(f"{BASE}/v3/company/{US}/customer/1", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    body = response.json()
    expected = fixture("errors/401_token_expired.json")
    assert set(body) == set(expected)
    assert_same_shape(body, expected)
    assert (
        response["WWW-Authenticate"]
        == fixture("errors/401_token_expired.headers.json")["headers"]["Www-Authenticate"][0]
    )
    assert client.get(f"{BASE}/v3/company/{US}/customer/1").status_code == 401


def test_void_response_keeps_lines_and_zeroes_amounts(us_api):
    invoice = _create_invoice(us_api)
    voided = controls.void_invoice(realm_id=US, invoice_id=invoice["Id"])
    assert [line["Amount"] for line in voided["Line"]] == [0, 0]
    raw = us_api.get(f"invoice/{invoice['Id']}").content
    assert json.loads(raw)["Invoice"]["TotalAmt"] == 0 and b'"TotalAmt":0,' in raw
