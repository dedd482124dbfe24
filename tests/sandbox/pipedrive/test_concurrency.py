"""The burst limit holds when many requests of one token arrive at once (rows locked per token)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import time_machine
from django.utils import timezone

from integration.sandbox.pipedrive import services
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxUser
from integration.sandbox.pipedrive.seed import seed


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_get_exactly_the_burst_limit(sandbox_base_url):
    seed()
    SandboxCompany.objects.filter(pk=1001).update(burst_limit=8)
    token = services.tokens_issue(user=SandboxUser.objects.get(pk=11)).access_token
    url = f"{sandbox_base_url}/sandbox/pipedrive/api/acme-demo/api/v2/deals/1"

    def call(_):
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=20).status_code

    # Frozen clock: all 20 requests fall in one 2-second window however slow the machine is.
    with time_machine.travel(timezone.now(), tick=False), ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(call, range(20)))
    assert sorted(statuses) == [200] * 8 + [429] * 12
