"""Won, not invoiced (money loop, item 4): one paged Pipedrive read plus our invoices, gap per currency."""

from __future__ import annotations

from decimal import Decimal

from integration.sandbox.pipedrive.models import SandboxRecord
from tests.invoices.test_deal_figures import create_invoice, installed  # noqa: F401
from tests.invoices.test_won import win


def test_won_deals_with_no_or_partial_invoices_and_the_gap(installed, connected, personas, web_as):  # noqa: F811
    win(1)  # won today, then partly invoiced
    create_invoice(connected, personas, deal_id=1)  # 222.00 USD
    value_1 = Decimal(str(SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=1).data["value"]))
    page = web_as("alice").get("/money-loop/won-not-invoiced", {"from": "2026-10-01", "to": "2026-12-31"})
    assert page.status_code == 200
    rows = {row.deal_id: row for row in page.context["report"]["rows"]}
    assert set(rows) == {1, 4}  # deal 4 was won on 2026-11-02 with no invoice
    assert rows[4].gap == Decimal("15000.00") and rows[4].invoiced == Decimal("0.00")
    assert rows[1].invoiced == Decimal("222.00") and rows[1].gap == value_1 - Decimal("222.00")
    assert page.context["report"]["gaps"] == {"USD": Decimal("15000.00") + value_1 - Decimal("222.00")}
    assert rows[4].url.endswith("/sandbox/pipedrive/app/acme-demo/deal/4")
    assert b"Hooli pilot" in page.content
    # A period without these wins lists nothing; a bad period is a clear 400.
    empty = web_as("alice").get("/money-loop/won-not-invoiced", {"from": "2025-01-01", "to": "2025-02-01"})
    assert empty.context["report"]["rows"] == []
    assert web_as("alice").get("/money-loop/won-not-invoiced", {"from": "2026-13-01"}).status_code == 400
    assert (
        web_as("alice").get("/money-loop/won-not-invoiced", {"from": "2026-12-01", "to": "2026-01-01"}).status_code
        == 400
    )


def test_members_see_it_only_per_visibility(installed, connected, personas, web_as):  # noqa: F811
    assert web_as("bob").get("/money-loop/won-not-invoiced").status_code == 403  # owner-only company
    personas.company_a.invoice_visibility = "team"
    personas.company_a.save()
    assert web_as("bob").get("/money-loop/won-not-invoiced").status_code == 200


def test_the_panel_menu_section_reads_the_same_report(installed, connected, personas):  # noqa: F811
    """GET /api/v1/won-not-invoiced (the panel's "…" → "Won, not invoiced"): the page's rows and gaps."""
    from tests.invoices.test_panel_api import panel

    win(1)
    create_invoice(connected, personas, deal_id=1)
    value_1 = Decimal(str(SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=1).data["value"]))
    alice = panel(personas.alice_membership)
    answer = alice.get("/api/v1/won-not-invoiced", {"from": "2026-10-01", "to": "2026-12-31"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    rows = {row["deal_id"]: row for row in body["rows"]}
    assert set(rows) == {1, 4}
    assert rows[4] == {
        "deal_id": 4,
        "title": rows[4]["title"],
        "won_on": "2026-11-02",
        "currency": "USD",
        "value": "15000.00",
        "invoiced": "0.00",
        "gap": "15000.00",
        "url": rows[4]["url"],
    }
    assert rows[4]["url"].endswith("/sandbox/pipedrive/app/acme-demo/deal/4") and rows[4]["title"]
    assert rows[1]["gap"] == str(value_1 - Decimal("222.00"))
    assert body["gaps"] == [{"currency": "USD", "gap": str(Decimal("15000.00") + value_1 - Decimal("222.00"))}]
    assert (body["date_from"], body["date_to"]) == ("2026-10-01", "2026-12-31")
    bad = alice.get("/api/v1/won-not-invoiced", {"from": "2026-12-01", "to": "2026-01-01"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert "from" in bad.json()["error"]["fields"]


def test_the_panel_section_follows_visibility(installed, connected, personas):  # noqa: F811
    from tests.invoices.test_panel_api import panel

    bob = panel(personas.bob_membership)
    refused = bob.get("/api/v1/won-not-invoiced")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed_to_view"
    personas.company_a.invoice_visibility = "team"
    personas.company_a.save()
    # Bob has no installation of his own and the company does not share tokens: a clear 409, no read.
    answer = bob.get("/api/v1/won-not-invoiced")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "reinstall"
    # With token sharing on, he reads through Alice's installation and sees the same deals.
    personas.company_a.pipedrive_token_sharing = True
    personas.company_a.save()
    shared = bob.get("/api/v1/won-not-invoiced", {"from": "2026-10-01", "to": "2026-12-31"})
    assert shared.status_code == 200 and 4 in {row["deal_id"] for row in shared.json()["rows"]}
