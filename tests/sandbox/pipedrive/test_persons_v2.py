"""The sandbox's persons are v2 persons as the spec's example shows them (same keys, same shapes), and
its personFields use the spec's field codes (`phone`, not the object key `phones`)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sandbox.pipedrive.conftest import ACME_API

SPEC = Path("/work/shared/pipedrive-reference/examples")


def test_seeded_persons_have_the_spec_examples_keys_and_shapes(pd_get):
    example = json.loads((SPEC / "spec-v2-GET-persons-id.json").read_text())["data"]
    for person_id in (1, 2, 5):
        person = pd_get(f"{ACME_API}/v2/persons/{person_id}").json()["data"]
        assert set(person) == set(example), person_id
        for key in ("emails", "phones", "im"):
            assert isinstance(person[key], list)
            assert all(set(item) == {"value", "primary", "label"} for item in person[key]), (person_id, key)
        assert "email" not in person and "phone" not in person  # the v1 names


def test_person_fields_use_the_specs_field_codes(pd_get):
    example = json.loads((SPEC / "spec-v2-GET-personFields.json").read_text())["data"]
    spec_codes = {f["field_code"] for f in example if not f["is_custom_field"]}
    codes = {f["field_code"] for f in pd_get(f"{ACME_API}/v2/personFields").json()["data"]}
    assert spec_codes <= codes  # name, phone
    assert "email" in codes and not {"emails", "phones"} & codes
