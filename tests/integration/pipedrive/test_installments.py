"""`integration.pipedrive.installments.deal_installments` over real HTTP against the sandbox: typed
results, chunks of 100 ids, paging, the Lite plan read as "no installments", real errors raised."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from integration.errors import PermanentError, TransientError
from integration.models import ApiCall
from integration.pipedrive.installments import Installment, deal_installments
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxInstallment
from integration.sandbox.pipedrive.seed import INSTALLMENTS
from tests.integration.pipedrive.flows import ACME, install
from tests.integration.pipedrive.test_client import installation_of

PATH = "/sandbox/pipedrive/api/acme-demo/api/v2/deals/installments"


@pytest.fixture
def alice(pd_live, browser):
    """Alice (admin of the sandbox's Acme, on the Growth plan) installed the app."""
    install(browser, pd_live, user_id=11, via="marketplace")
    return installation_of(11)


def calls() -> list[str]:
    return [call.path for call in ApiCall.objects.filter(path=PATH).order_by("id")]


def test_the_seeded_schedule_typed(alice):
    result = deal_installments(installation=alice, deal_ids=[1, 2, 3])
    assert all(isinstance(item, Installment) for item in result)
    assert [(i.id, i.deal_id, i.description, i.billing_date) for i in result] == [
        (iid, 1, description, billing_date) for iid, description, billing_date in INSTALLMENTS
    ]
    assert all(isinstance(i.amount, Decimal) and i.amount == i.amount.quantize(Decimal("0.01")) for i in result)
    stored = {row.pk: row.amount for row in SandboxInstallment.objects.filter(deal_id=1)}
    assert {i.id: i.amount for i in result} == stored
    assert deal_installments(installation=alice, deal_ids=[]) == []
    assert calls() == [PATH]  # the empty call asked nothing


def test_more_than_100_ids_go_in_chunks_and_every_page_is_followed(alice):
    # 620 installments on deal 5: two pages of 500 in the second chunk of ids.
    SandboxInstallment.objects.bulk_create(
        SandboxInstallment(
            company_id=ACME,
            deal_id=5,
            description=f"Part {n}",
            amount=Decimal("10.01"),
            billing_date=dt.date(2027, 1, 1) + dt.timedelta(days=n % 300),
        )
        for n in range(620)
    )
    ids = [*range(6, 106), 5, 1, 5]  # 102 distinct ids: chunk 1 = 1, 5, 6..103; chunk 2 = 104, 105
    result = deal_installments(installation=alice, deal_ids=ids)
    assert len(result) == 3 + 620
    assert sum(i.amount for i in result if i.deal_id == 5) == Decimal("6206.20")
    # Chunk 1 (100 ids, 623 installments) took two pages; chunk 2 (2 ids) one.
    assert len(calls()) == 3
    assert result == sorted(result, key=lambda i: (i.deal_id, i.billing_date, i.id))


def test_a_lite_plan_reads_as_no_installments(alice):
    SandboxCompany.objects.filter(pk=ACME).update(plan="lite")
    assert deal_installments(installation=alice, deal_ids=[1]) == []
    assert len(calls()) == 1  # Pipedrive was asked and answered 403


def test_a_scope_mismatch_is_an_error_not_an_empty_schedule(pd_live, browser, settings):
    settings.PIPEDRIVE_SANDBOX_APP_SCOPES = ["base", "contacts:read"]
    install(browser, pd_live, user_id=11, via="marketplace")
    with pytest.raises(PermanentError) as info:
        deal_installments(installation=installation_of(11), deal_ids=[1])
    assert info.value.status == 403
    assert "Scope and URL mismatch" in info.value.message


def test_an_outage_raises_instead_of_answering_nothing(alice):
    SandboxCompany.objects.filter(pk=ACME).update(api_outage_status=503)
    with pytest.raises(TransientError):
        deal_installments(installation=alice, deal_ids=[1])
