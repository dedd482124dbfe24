"""The Accounting API v3 under /v3/company/{realmId}/... : routing, auth, throttling, replay.

Not wrapped in the request transaction: the call log must be visible to other processes while
a request runs (in-flight limit), and each write runs in its own transaction that holds the
realm's row lock, so `requestid` replay and id/DocNumber allocation are race-free.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from integration.sandbox.quickbooks import clock, faults, oauth, pdf, query, render, services, traffic
from integration.sandbox.quickbooks.faults import QboFault
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm, SandboxReplay
from integration.sandbox.quickbooks.render import as_number, fault_response, json_response

logger = logging.getLogger(__name__)

BATCH_MAX_ITEMS = 30
BATCH_MAX_REQUEST_ID = 36  # requestid on a batch (blog 2015-04-06 "Request ID update")
BATCH_MAX_BID = 10  # bId when the batch has a requestid (same source)
LATEST_MINOR_VERSION = 75
CDC_MAX_OBJECTS = 1000
CDC_MAX_AGE = dt.timedelta(days=30)


def _unauthorized(detail: str) -> HttpResponse:
    response = json_response(faults.auth_fault_body(detail), status=401, content_type="application/json")
    response["WWW-Authenticate"] = 'Bearer realm="Intuit", error="invalid_token"'
    return response


@csrf_exempt
@transaction.non_atomic_requests
def dispatch(request: HttpRequest, realm_id: str, rest: str) -> HttpResponse:
    """Every /v3/company/{realmId}/... request."""
    with traffic.track(request, kind="api", realm_id=realm_id) as call:
        status, detail = oauth.authenticate_bearer(
            authorization=request.headers.get("Authorization", ""), realm_id=realm_id
        )
        if status == 403:
            forbidden = json_response(faults.authorization_fault_body(), status=403, content_type="application/json")
            return call.finish(_both_tids(forbidden))
        if status != 200:
            return call.finish(_both_tids(_unauthorized(detail)))
        limited = traffic.throttled(call)
        if limited is not None:
            return call.finish(_both_tids(limited))
        injected = traffic.injected_failure(call)
        if injected is not None:
            return _both_tids(injected)
        try:
            _check_minor_version(request.GET.get("minorversion"))
            response = _route(request, realm_id, rest.strip("/"))
        except QboFault as fault:
            response = fault_response(fault)
        if _wants_xml(request):
            response = render.as_xml(response)
        response["Qbo-Version"] = "1944.190"
        # Recorded API responses carry `Intuit-Tid`; SDKs read `intuit_tid`: send both, same value.
        _both_tids(response)
        if call.reset_after:
            response = traffic.reset_connection(request, response)
        return call.finish(response)


def _check_minor_version(value: str | None) -> None:
    """From Aug 1 2025 versions 1-74 are ignored (answered as 75) and no value means 75 (blog
    2025-01-21); a version that does not exist (above 75, or not a number) is refused."""
    if value is None or value == "":
        return
    if not value.isdigit() or int(value) > LATEST_MINOR_VERSION:
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Invalid minorversion {value!r}: the latest supported minor version is {LATEST_MINOR_VERSION}.",
            element="minorversion",
        )


def _wants_xml(request: HttpRequest) -> bool:
    """QBO speaks XML to a client that asks for it (XML is its native format; the JSON fixtures are
    what `Accept: application/json` gets). A client naming both, or `*/*`, gets JSON."""
    accept = request.headers.get("Accept", "").lower()
    return ("application/xml" in accept or "text/xml" in accept) and "json" not in accept


def _both_tids(response: HttpResponse) -> HttpResponse:
    if response.has_header("intuit_tid"):
        response["Intuit-Tid"] = response["intuit_tid"]
    return response


def _route(request: HttpRequest, realm_id: str, rest: str) -> HttpResponse:
    parts = rest.split("/") if rest else []
    path = request.path[request.path.index("/v3/") :]
    method = request.method
    realm = SandboxRealm.objects.filter(realm_id=realm_id).first()
    if realm is None or not parts:
        raise faults.unsupported_operation(path)
    head = parts[0]
    if head == "query" and len(parts) == 1 and method in {"GET", "POST"}:
        text = request.GET.get("query") if method == "GET" else request.body.decode("utf-8", "replace")
        return _envelope({"QueryResponse": query.run(realm=realm, text=text or "")}, realm)
    if head == "batch" and len(parts) == 1 and method == "POST":
        request_id = request.GET.get("requestid", "")
        if len(request_id) > BATCH_MAX_REQUEST_ID:
            raise faults.string_length("requestid", BATCH_MAX_REQUEST_ID)
        payload = _json_body(request)
        if request_id:
            _check_batch_ids(payload)
        return _write(request, realm_id, lambda r: _batch(r, payload))
    if head == "cdc" and len(parts) == 1 and method == "GET":
        return _cdc(request, realm)
    if head == "preferences" and len(parts) == 1 and method == "GET":
        row = SandboxEntity.objects.get(realm=realm, entity="Preferences")
        return _envelope({"Preferences": services.present(realm, row)}, realm)
    if head == "companyinfo" and len(parts) == 2 and method == "GET":
        if parts[1] not in {realm_id, "1"}:
            raise faults.not_found()
        row = SandboxEntity.objects.get(realm=realm, entity="CompanyInfo")
        return _envelope({"CompanyInfo": services.present(realm, row)}, realm)
    spec = services.SPECS.get(head)
    if spec is None or spec.kind == "prefs":
        raise faults.unsupported_operation(path)
    if len(parts) == 2 and method == "GET":
        row = services.get_row(realm=realm, entity=spec.name, qbo_id=parts[1])
        return _envelope(_with_invoice_link(request, realm, {spec.name: services.present(realm, row)}), realm)
    if head == "invoice" and len(parts) == 3 and parts[2] == "pdf" and method == "GET":
        row = services.get_row(realm=realm, entity="Invoice", qbo_id=parts[1])
        content = pdf.render_invoice(realm=realm, invoice=services.present(realm, row))
        response = HttpResponse(content, content_type="application/pdf")
        response["intuit_tid"] = faults.new_tid()
        response["Content-Disposition"] = f'inline; filename="Invoice_{row.data.get("DocNumber", row.qbo_id)}.pdf"'
        return response
    if head == "invoice" and len(parts) == 3 and parts[2] == "send" and method == "POST":
        send_to = request.GET.get("sendTo")
        return _write(request, realm_id, lambda r: _send(r, parts[1], send_to))
    if len(parts) == 1 and method == "POST":
        operation = request.GET.get("operation", "").lower()
        include = request.GET.get("include", "").lower()
        token = services.allow_duplicate_doc_number.set("allowduplicatedocnum" in include)
        try:
            return _write(
                request,
                realm_id,
                lambda r: _with_invoice_link(
                    request, r, _entity_write(r, spec, operation, include, _json_body(request))
                ),
            )
        finally:
            services.allow_duplicate_doc_number.reset(token)
    raise faults.unsupported_operation(path)


def _with_invoice_link(request: HttpRequest, realm: SandboxRealm, body: dict) -> dict:
    """`include=invoiceLink`: a shareable link, only for invoices with online payment and a BillEmail."""
    invoice = body.get("Invoice")
    if "invoicelink" not in request.GET.get("include", "").lower() or not invoice or invoice.get("status"):
        return body
    online = invoice.get("AllowOnlineCreditCardPayment") or invoice.get("AllowOnlineACHPayment")
    if online and (invoice.get("BillEmail") or {}).get("Address"):
        base = request.build_absolute_uri(reverse("sandbox:qbo_sandbox:app"))
        invoice = {
            **invoice,
            "InvoiceLink": f"{base}invoice?{urlencode({'txnId': invoice['Id'], 'companyId': realm.realm_id})}",
        }
        body = {**body, "Invoice": invoice}
    return body


def _send(realm: SandboxRealm, invoice_id: str, send_to: str | None) -> dict:
    services.send(realm=realm, invoice_id=invoice_id, send_to=send_to)
    return {"Invoice": services.present(realm, _row(realm, "Invoice", invoice_id))}


def _row(realm: SandboxRealm, entity: str, qbo_id: str) -> SandboxEntity:
    return services.get_row(realm=realm, entity=entity, qbo_id=qbo_id)


def _entity_write(realm: SandboxRealm, spec: services.Spec, operation: str, include: str, payload: dict) -> dict:
    if not isinstance(payload, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", "The request body must be an object.")
    if operation == "delete":
        return {spec.name: services.delete(realm=realm, spec=spec, payload=payload)}
    if operation == "void" or (operation == "update" and include == "void"):
        data = services.void(realm=realm, spec=spec, payload=payload)
        return {spec.name: services.present(realm, _row(realm, spec.name, data["Id"]))}
    if operation not in {"", "create", "update"}:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/{spec.name.lower()}?operation={operation}")
    if payload.get("Id"):
        data = services.update(realm=realm, spec=spec, payload=payload)
    else:
        data = services.create(realm=realm, spec=spec, payload=payload)
    return {spec.name: services.present(realm, _row(realm, spec.name, data["Id"]))}


def _plain(value):
    """Decimals parsed from the body (exact money) become JSON numbers we can store."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return as_number(value)
    return value


def _json_body(request: HttpRequest):
    try:
        return _plain(json.loads(request.body or b"{}", parse_float=Decimal))
    except ValueError:
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            "Property Name:Unable to parse the request body as JSON specified is unsupported or invalid",
            element=None,
        ) from None


def _envelope(body: dict, realm: SandboxRealm, status: int = 200) -> HttpResponse:
    body["time"] = clock.qbo_time(tz=realm.timezone)
    return json_response(body, status=status)


def _write(request: HttpRequest, realm_id: str, operation) -> HttpResponse:
    """Run a write in one transaction under the realm lock, honouring `requestid` replay."""
    request_id = request.GET.get("requestid", "")
    if len(request_id) > 50:
        raise faults.string_length("requestid", 50)
    try:
        with transaction.atomic():
            realm = services.realm_for_update(realm_id)
            if realm is None:  # deleted since the route found it
                raise faults.not_found()
            if request_id:
                stored = SandboxReplay.objects.filter(realm=realm, request_id=request_id).first()
                if stored is not None:
                    return _replayed(stored)
            body = operation(realm)
            body["time"] = clock.qbo_time(tz=realm.timezone)
            response = json_response(body)
            if request_id:
                _remember(realm, request_id, response)
            return response
    except QboFault as fault:
        response = fault_response(fault)
        if request_id:
            # The failed write rolled back; its answer is still what a repeat gets.
            try:
                with transaction.atomic():
                    realm = SandboxRealm.objects.get(realm_id=realm_id)
                    _remember(realm, request_id, response)
            except IntegrityError:
                logger.info("sandbox: requestid %s stored concurrently", request_id)
        return response


def _remember(realm: SandboxRealm, request_id: str, response: HttpResponse) -> None:
    SandboxReplay.objects.create(
        realm=realm,
        request_id=request_id,
        status=response.status_code,
        body=response.content.decode(),
        content_type=response["Content-Type"],
        created_at=clock.now(),
    )


def _replayed(stored: SandboxReplay) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status, content_type=stored.content_type)
    response["intuit_tid"] = faults.new_tid()
    return response


def _check_batch_ids(payload) -> None:
    items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and len(str(item.get("bId", ""))) > BATCH_MAX_BID:
            raise faults.string_length("bId", BATCH_MAX_BID)


def _batch(realm: SandboxRealm, payload: dict) -> dict:
    items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise faults.required_param("BatchItemRequest")
    if len(items) > BATCH_MAX_ITEMS:
        raise QboFault(
            "1040",
            "Batch size exceeds allowed limit",
            f"The number of batch items {len(items)} exceeds the maximum of {BATCH_MAX_ITEMS}.",
            element=None,
        )
    out = []
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            # One savepoint per item: a failing item leaves the others' writes in place.
            with transaction.atomic():
                out.append({**_batch_item(realm, item), "bId": bid})
        except QboFault as fault:
            out.append({"Fault": fault.fault(), "bId": bid})
    return {"BatchItemResponse": out}


def _batch_item(realm: SandboxRealm, item) -> dict:
    if not isinstance(item, dict) or not item.get("bId"):
        raise faults.required_param("bId")
    if "Query" in item:
        return {"QueryResponse": query.run(realm=realm, text=str(item["Query"]))}
    operation = str(item.get("operation", "")).lower()
    entity_keys = [k for k in item if k not in {"bId", "operation", "optionsData"}]
    if len(entity_keys) != 1:
        raise faults.required_param("BatchItemRequest.IntuitObject")
    found = services.BY_NAME.get(entity_keys[0].lower())
    if found is None:
        raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/batch ({entity_keys[0]})")
    spec = found[1]
    body = item[entity_keys[0]]
    if operation in {"create", "update"}:
        return _entity_write(realm, spec, "", "", body)
    if operation in {"delete", "void"}:
        return _entity_write(realm, spec, operation, "", body)
    raise faults.unsupported_operation(f"/v3/company/{realm.realm_id}/batch (operation {operation})")


def _cdc(request: HttpRequest, realm: SandboxRealm) -> HttpResponse:
    names = [n.strip() for n in request.GET.get("entities", "").split(",") if n.strip()]
    if not names:
        raise faults.required_param("entities")
    # An unencoded "+" of an offset arrives as a space.
    since_text = request.GET.get("changedSince", "").replace(" ", "+")
    if not since_text:
        raise faults.required_param("changedSince")
    # A changedSince without an offset is the company's local time (the realm's time zone).
    since = clock.parse_datetime(since_text, tz=realm.timezone)
    if since is None:
        raise faults.business_validation(f"changedSince {since_text!r} is not a valid date-time.", "changedSince")
    if since < clock.now() - CDC_MAX_AGE:
        raise faults.business_validation("changedSince must be within the last 30 days.", "changedSince")
    groups = []
    total = 0
    balances = services.customer_balances(realm)
    for name in names:
        spec = services.spec_for_name(name)
        if spec is None or not spec.cdc or spec.kind == "prefs":
            raise faults.invalid_query(f"invalid context declaration: {name}")
        changed = list(
            SandboxEntity.objects.filter(realm=realm, entity=spec.name, updated_at__gte=since).order_by(
                "deleted", "updated_at", "id"
            )
        )
        changed = changed[: max(0, CDC_MAX_OBJECTS - total)]
        total += len(changed)
        if changed:
            groups.append(
                {
                    spec.name: [services.present(realm, row, balances) for row in changed],
                    "startPosition": 1,
                    "maxResults": len(changed),
                }
            )
        else:
            groups.append({})
    return _envelope({"CDCResponse": [{"QueryResponse": groups}]}, realm)
