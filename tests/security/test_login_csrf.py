"""Login CSRF through the state-less (Marketplace) Pipedrive callback (issue 17): a code someone
else obtained, opened in a signed-in browser, must not switch that browser's account unasked."""

from __future__ import annotations

import re

import requests

from integration.pipedrive.models import PipedriveInstallation
from tests.integration.pipedrive.flows import CSRF, consent, install, start_in_marketplace


def signed_in_as(browser, base) -> str:
    page = browser.get(f"{base}/settings/")
    assert page.url == f"{base}/settings/", "not signed in"
    return page.text


def attackers_code(base) -> str:
    """Dana (Borealis) consents in her own browser and keeps the callback URL instead of opening it."""
    with requests.Session() as attacker:
        return consent(attacker, start_in_marketplace(attacker, base), user_id=22).url


def test_a_stateless_code_over_another_session_asks_first(pd_live, browser):
    assert install(browser, pd_live, user_id=11).status_code == 302  # Alice signed in
    victim_url = attackers_code(pd_live)

    page = browser.get(victim_url, allow_redirects=False)
    assert page.status_code == 200
    assert "dana@borealis.test" in page.text and "alice@acme.test" in page.text
    assert "alice@acme.test" in signed_in_as(browser, pd_live)  # still Alice
    # The install itself happened for the account that consented (its tokens), nothing else.
    assert PipedriveInstallation.all_companies.filter(pipedrive_user_id=22).exists()

    # "Stay" keeps Alice; the pending sign-in is gone.
    token = CSRF.search(page.text).group(1)
    stay = browser.post(
        f"{pd_live}/pipedrive/install/confirm",
        data={"csrfmiddlewaretoken": token, "decision": "stay"},
        headers={"Referer": victim_url},
        allow_redirects=False,
    )
    assert stay.status_code == 302
    assert "Acme Robotics" in signed_in_as(browser, pd_live)
    again = browser.post(
        f"{pd_live}/pipedrive/install/confirm",
        data={"csrfmiddlewaretoken": token, "decision": "switch"},
        headers={"Referer": victim_url},
        allow_redirects=False,
    )
    assert again.status_code == 400  # nothing pending any more
    assert "Acme Robotics" in signed_in_as(browser, pd_live)


def test_confirming_switches_and_a_forged_post_cannot(pd_live, browser):
    install(browser, pd_live, user_id=11)
    page = browser.get(attackers_code(pd_live), allow_redirects=False)
    assert page.status_code == 200
    # Without the CSRF token (a cross-site form) the switch is refused.
    forged = browser.post(f"{pd_live}/pipedrive/install/confirm", data={"decision": "switch"}, allow_redirects=False)
    assert forged.status_code == 403
    assert "Acme Robotics" in signed_in_as(browser, pd_live)

    page = browser.get(attackers_code(pd_live), allow_redirects=False)
    token = CSRF.search(page.text).group(1)
    switched = browser.post(
        f"{pd_live}/pipedrive/install/confirm",
        data={"csrfmiddlewaretoken": token, "decision": "switch"},
        headers={"Referer": f"{pd_live}/pipedrive/callback"},
        allow_redirects=False,
    )
    assert switched.status_code == 302, switched.text[:300]
    assert re.search("Borealis", signed_in_as(browser, pd_live))


def test_a_signed_out_browser_or_the_same_user_is_not_asked(pd_live, browser):
    response = browser.get(attackers_code(pd_live), allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/")
    # Dana again from the Marketplace, already signed in as Dana: straight through.
    assert install(browser, pd_live, user_id=22, via="marketplace").status_code == 302
