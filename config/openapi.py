"""The error answers of our JSON API in the OpenAPI schema (issue 17: "document every status code
each operation can answer"). drf-spectacular documents what views declare, which is their 2xx;
this post-processing hook adds the refusals every operation can give, by rule, all in the error
envelope of tenants.api.exception_handler. Schemathesis (tests/security/test_schemathesis.py)
fails on any status code not listed here."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "code", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "suggestion": {"type": "object"},
                        },
                    },
                },
            },
        }
    },
}

DESCRIPTIONS = {
    "400": "Invalid input: `error.fields` (and `error.problems`) name what is wrong; nothing was written.",
    "401": "Not authenticated: the token is missing, expired, forged or names no installed company.",
    "403": "Authenticated but not allowed (visibility, role, CSRF for session calls).",
    "404": "Not found in this company (ids of other companies are not found either).",
    "409": "The company's state forbids it: QuickBooks not connected or needs reconnecting, app not installed.",
    "413": "The request body is over the API's limit.",
    "415": "The body's Content-Type is not JSON.",
    "502": "QuickBooks or Pipedrive answered with an error we cannot map.",
    "503": "QuickBooks or Pipedrive is not answering; retry later.",
}


def _codes(operation: dict) -> set[str]:
    codes = {"401", "403", "404"}
    has_body = "requestBody" in operation
    if has_body or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        codes.add("400")
    if has_body:
        codes |= {"400", "413", "415"}
    if any("PipedrivePanelJWT" in requirement for requirement in operation.get("security", [])):
        codes |= {"409", "502", "503"}
    return codes


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in sorted(_codes(operation)):
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
                    },
                )
    return result
