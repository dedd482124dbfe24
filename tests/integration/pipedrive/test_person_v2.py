"""A person read through API v2 exactly as Pipedrive's spec shows it: `emails`/`phones` lists of
{value, primary, label}, reached by the personFields codes `email`/`phone`."""

from __future__ import annotations

import json
from pathlib import Path

from integration.pipedrive import client as pipedrive
from integration.pipedrive.fields import field_value
from integration.sandbox.pipedrive.models import SandboxRecord
from invoices.deal_drafts import draft_from_deal
from tenants.models import FieldMapping
from tenants.scoping import company_scope
from tests.invoices.conftest import connected, link_calls, qbo  # noqa: F401
from tests.invoices.test_draft import installed  # noqa: F401

SPEC_PERSON = Path("/work/shared/pipedrive-reference/examples/spec-v2-GET-persons-id.json")


def spec_person() -> dict:
    return json.loads(SPEC_PERSON.read_text())["data"]


def test_the_spec_example_person_reads_its_primary_email_and_phone(installed, connected, personas):  # noqa: F811
    example = spec_person()
    SandboxRecord.objects.filter(company_id=1001, kind="person", object_id=example["id"]).update(data=example)
    deal = SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=1)
    deal.data = {**deal.data, "person_id": example["id"]}
    deal.save()

    person = pipedrive.person_get(installation=installed, person_id=example["id"])
    assert person == example  # the sandbox answers the spec's object unchanged
    definitions = pipedrive.fields_list(installation=installed, entity="person")
    codes = {d["field_code"] for d in definitions}
    assert {"email", "phone"} <= codes and not {"emails", "phones"} & codes  # codes, not object keys
    assert field_value(person, "phone", definitions).value == "12345"  # the primary phone
    assert field_value(person, "email", definitions).value == "email1@email.com"

    with company_scope(personas.company_a):
        mapping, _ = FieldMapping.objects.get_or_create(company=personas.company_a)
        assert (mapping.email_entity, mapping.email_key) == ("person", "email")  # the default mapping
        draft = draft_from_deal(installation=installed, connection=connected, mapping=mapping, deal_id=1)
    assert draft.customer.email == "email1@email.com"  # the primary one, not the first by chance

    # The primary one wins wherever it stands in the list.
    reordered = {**example, "emails": list(reversed([{**e, "primary": not e["primary"]} for e in example["emails"]]))}
    SandboxRecord.objects.filter(company_id=1001, kind="person", object_id=example["id"]).update(data=reordered)
    with company_scope(personas.company_a):
        draft = draft_from_deal(installation=installed, connection=connected, mapping=mapping, deal_id=1)
    assert draft.customer.email == "email2@email.com"
