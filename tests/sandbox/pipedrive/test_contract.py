"""Every sandbox API response validates against Pipedrive's own OpenAPI schemas (v1 and v2).

The spec files are big, so they are parsed once per session. OpenAPI 3.0 schemas are turned
into JSON Schema (draft 4): `$ref`s inlined, `nullable: true` becomes a union with null.

Two deliberate relaxations, because the spec is wrong where the docs are explicit:
- an object's property may be null (the docs say `next_cursor` is null at the end and the API
  returns null for an unset `won_time`, `org_id`, address parts…; the spec marks few as nullable);
- ERRATA below: the search result's product `code` is typed integer but codes are strings
  (string in `/products`).
Everything else — types of non-null values, enums, structure, declared keys — is enforced.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from integration.sandbox.pipedrive.models import SandboxRecord
from tests.sandbox.pipedrive.conftest import ACME_API, BOREALIS_API

SPEC_DIR = Path(__file__).parent / "spec"
SCHEMA_KEYWORDS_WITH_SCHEMAS = ("items", "additionalProperties", "not")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
NEVER_NULL = {"success", "data", "items", "additional_data"}  # the envelope itself stays strict


@cache
def spec(version: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SPEC_DIR / f"openapi-{version}.yaml", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)


def to_json_schema(node, root: dict, seen: tuple[str, ...] = ()):
    """Inline `$ref`s and translate OpenAPI's `nullable` into JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:  # recursive schema: stop here
            return {}
        target = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return to_json_schema(target, root, (*seen, ref))
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {
                name: to_json_schema(sub, root, seen)
                if name in NEVER_NULL
                else _or_null(to_json_schema(sub, root, seen))
                for name, sub in value.items()
            }
        elif key in SCHEMA_KEYWORDS_WITH_SCHEMAS and isinstance(value, dict):
            out[key] = to_json_schema(value, root, seen)
        elif key in SCHEMA_LISTS:
            out[key] = [to_json_schema(sub, root, seen) for sub in value]
        elif key in ("example", "examples") or key.startswith("x-"):
            continue
        else:
            out[key] = value
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _or_null(schema: dict) -> dict:
    if isinstance(schema.get("type"), list) and "null" in schema["type"]:
        return schema
    if set(schema) == {"anyOf"} and {"type": "null"} in schema["anyOf"]:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _unwrap(schema: dict) -> dict:
    """The schema inside our `anyOf: [schema, null]` wrapper."""
    if set(schema) == {"anyOf"} and {"type": "null"} in schema["anyOf"]:
        return next(sub for sub in schema["anyOf"] if sub != {"type": "null"})
    return schema


def _search_code_is_a_string(schema: dict) -> None:
    data = schema["allOf"][1]["properties"]["data"]
    item = _unwrap(data["properties"]["items"]["items"]["properties"]["item"])
    item["properties"]["code"] = {"type": ["string", "integer", "null"]}


ERRATA = {
    # (version, path): patch applied to the converted schema
    ("v2", "/products/search"): _search_code_is_a_string,
}


@cache
def response_schema(version: str, path: str, status: int = 200) -> dict:
    document = spec(version)
    operation = document["paths"][path]["get"]
    raw = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    schema = to_json_schema(raw, document)
    if (version, path) in ERRATA:
        ERRATA[(version, path)](schema)
    return schema


def declared_properties(schema: dict) -> set[str] | None:
    """Property names a schema declares (through allOf/anyOf/oneOf); None when it allows anything."""
    names: set[str] = set()
    found = False
    if "properties" in schema:
        names |= set(schema["properties"])
        found = True
    for key in SCHEMA_LISTS:
        for sub in schema.get(key, []):
            inner = declared_properties(sub)
            if inner is not None:
                names |= inner
                found = True
    return names if found else None


def validate(body: dict, version: str, path: str, status: int = 200) -> None:
    jsonschema.Draft4Validator(response_schema(version, path, status)).validate(body)


def test_spec_paths_we_simulate_exist():
    v2 = spec("v2")["paths"]
    for path in (
        "/deals",
        "/deals/{id}",
        "/deals/{id}/products",
        "/deals/products",
        "/persons/{id}",
        "/organizations/{id}",
        "/products",
        "/products/{id}",
        "/products/search",
        "/dealFields",
        "/personFields",
        "/organizationFields",
        "/productFields",
    ):
        assert "get" in v2[path], path
    assert "get" in spec("v1")["paths"]["/users/me"]
    assert "get" in spec("v1")["paths"]["/currencies"]


def _endpoints(pd_seed) -> list[tuple[str, str, str, dict]]:
    """(version, spec path, sandbox URL, query) for every object the seed holds."""
    walk: list[tuple[str, str, str, dict]] = [
        ("v1", "/users/me", f"{ACME_API}/v1/users/me", {}),
        ("v1", "/currencies", f"{ACME_API}/v1/currencies", {}),
        ("v2", "/deals", f"{ACME_API}/v2/deals", {}),
        ("v2", "/deals", f"{ACME_API}/v2/deals", {"limit": 2, "include_option_labels": "true"}),
        ("v2", "/deals", f"{ACME_API}/v2/deals", {"status": "won,lost,deleted", "sort_by": "update_time"}),
        ("v2", "/products", f"{ACME_API}/v2/products", {}),
        ("v2", "/deals/products", f"{ACME_API}/v2/deals/products", {"deal_ids": "1,2,3"}),
        ("v2", "/products/search", f"{ACME_API}/v2/products/search", {"term": "robot"}),
        ("v2", "/products/search", f"{ACME_API}/v2/products/search", {"term": "SVC-INST", "exact_match": "true"}),
    ]
    for entity in ("deal", "person", "organization", "product"):
        walk.append(("v2", f"/{entity}Fields", f"{ACME_API}/v2/{entity}Fields", {}))
    for record in SandboxRecord.objects.filter(company_id=1001).exclude(kind="deal_product"):
        if record.data.get("is_deleted"):
            continue
        plural = {"deal": "deals", "person": "persons", "organization": "organizations", "product": "products"}
        walk.append(
            ("v2", f"/{plural[record.kind]}/{{id}}", f"{ACME_API}/v2/{plural[record.kind]}/{record.object_id}", {})
        )
        walk.append(
            (
                "v2",
                f"/{plural[record.kind]}/{{id}}",
                f"{ACME_API}/v2/{plural[record.kind]}/{record.object_id}",
                {"include_option_labels": "true"},
            )
        )
        if record.kind == "deal":
            walk.append(("v2", "/deals/{id}/products", f"{ACME_API}/v2/deals/{record.object_id}/products", {}))
    return walk


def test_every_sandbox_endpoint_validates_against_the_spec(pd_seed, pd_get, pd_token):
    token = pd_token()
    walked = 0
    for version, path, url, query in _endpoints(pd_seed):
        response = pd_get(url, token=token, **query)
        assert response.status_code == 200, (url, query, response.content[:300])
        body = response.json()
        try:
            validate(body, version, path)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{url} {query}: {exc.message} at {list(exc.absolute_path)}")
        assert body["success"] is True
        walked += 1
    assert walked >= 40  # 5 deals + products + persons + orgs + products, with and without labels


def example_keys(version: str, path: str) -> set[str]:
    """Keys of `data` in the spec's own response example (it shows fields the schema forgot)."""
    content = spec(version)["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    data = (content.get("example") or {}).get("data")
    if isinstance(data, list):
        data = data[0] if data else {}
    return set(data or {})


def test_no_undeclared_fields_on_v2_objects(pd_seed, pd_get):
    """What we return is what the spec documents in its schema or its example (catches invented
    or misspelt keys)."""
    cases = [
        ("/deals/{id}", f"{ACME_API}/v2/deals/1"),
        ("/persons/{id}", f"{ACME_API}/v2/persons/1"),
        ("/organizations/{id}", f"{ACME_API}/v2/organizations/1"),
        ("/products/{id}", f"{ACME_API}/v2/products/1"),
    ]
    for path, url in cases:
        data_schema = response_schema("v2", path)
        data = pd_get(url).json()["data"]
        data_props = None
        for part in [data_schema, *data_schema.get("allOf", [])]:
            if "properties" in part and "data" in part["properties"]:
                data_props = declared_properties(part["properties"]["data"])
        assert data_props, path
        documented = data_props | example_keys("v2", path)
        assert set(data) - documented == set(), (path, set(data) - documented)
    line_schema = response_schema("v2", "/deals/{id}/products")
    items = None
    for part in [line_schema, *line_schema.get("allOf", [])]:
        if "properties" in part and "data" in part["properties"]:
            items = declared_properties(part["properties"]["data"]["items"])
    line = pd_get(f"{ACME_API}/v2/deals/1/products").json()["data"][0]
    assert set(line) - items - example_keys("v2", "/deals/{id}/products") == set()


def test_unauthorized_body_matches_the_spec(client, pd_seed):
    response = client.get(f"{ACME_API}/v1/users/me", HTTP_AUTHORIZATION="Bearer v1u:nope")
    assert response.status_code == 401
    validate(response.json(), "v1", "/users/me", 401)


def test_second_company_validates_too(pd_seed, pd_get, pd_token):
    token = pd_token(user_id=22)
    me = pd_get(f"{BOREALIS_API}/v1/users/me", token=token).json()
    validate(me, "v1", "/users/me")
    assert (me["data"]["company_id"], me["data"]["is_admin"]) == (2002, False)
    deal = pd_get(f"{BOREALIS_API}/v2/deals/1", token=token).json()
    validate(deal, "v2", "/deals/{id}")
    assert deal["data"]["currency"] == "GBP"
