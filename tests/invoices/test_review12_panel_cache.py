"""Review 12: the panel's remembered answers (invoices/panel_cache.py) attacked. Each test names the
hole it shows; see the review report."""

from __future__ import annotations

import time

import pytest

from invoices import panel_cache, panel_seats
from tenants.models import Company, Membership
from tests.invoices.test_panel_api import panel
from tests.invoices.test_panel_cache import _eventually, _reads, _url, live_cache, postgres_only  # noqa: F401
from tests.personas import add_invoices, make_personas


def _notice_processed(cache, company_pk: int, write) -> None:
    """Run `write` (committed at once: transactional test) and wait until its notice reached the cache."""
    before = cache.stamp(company_pk)
    write()
    _eventually(lambda: cache.stamp(company_pk) != before)


@postgres_only
def test_a_seat_that_changes_between_its_reload_and_the_stamp_is_not_served_from_the_cache(live_cache, monkeypatch):
    """fast_reads: after SeatChanged the seat is reloaded, then the stamp is taken, then the data is read
    WITHOUT re-checking the seat (fingerprint=None). A change committed (and noticed) between the reload
    and the stamp is therefore not seen by the read, and its answer is stored under the stale seat's
    fingerprint with a fresh stamp. The stale seat stays in _seats for 30 s, so every request in that
    time is a cache hit on the stale rights (here: Bob keeps seeing invoices after visibility was
    set back to owner-only; without the cache the next read would re-check the seat and answer 403)."""
    personas = add_invoices(make_personas())
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(invoice_visibility="team")
    bob = panel(personas.bob_membership)
    assert bob.get(_url(personas)).status_code == 200  # Bob's seat remembered (team visibility)

    # Bob's seat becomes stale (his language changes): the next read raises SeatChanged and reloads it.
    _notice_processed(
        live_cache,
        company.pk,
        lambda: Membership.all_companies.filter(pk=personas.bob_membership.pk).update(language="de"),
    )
    real_load = panel_seats._load_seat
    fired = []

    def load_then_admin_restricts(claims):
        seat = real_load(claims)
        if not fired:  # the admin's change commits right after the reload, before the stamp
            fired.append(1)
            _notice_processed(
                live_cache,
                company.pk,
                lambda: Company.objects.filter(pk=company.pk).update(invoice_visibility="owner_only"),
            )
        return seat

    monkeypatch.setattr(panel_seats, "_load_seat", load_then_admin_restricts)
    bob.get(_url(personas))  # this one read may race (it did before the cache too)
    assert fired
    monkeypatch.setattr(panel_seats, "_load_seat", real_load)

    again, queries = _reads(bob, _url(personas))
    assert again.status_code == 403, (again.status_code, queries)
