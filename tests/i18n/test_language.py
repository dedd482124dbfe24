"""Which language a user sees (tenants/language.py): their choice in Settings, else their Pipedrive
language (stored at install and every sign-in), else the browser's Accept-Language, else English.
The panel and modal, opened with Pipedrive's JWT and no session, follow the same seat."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from integration.sandbox.pipedrive.models import SandboxUser
from tenants.language import format_locale, membership_language, supported_language
from tenants.models import Membership
from tests.integration.pipedrive.flows import ACME, install
from tests.personas import panel_token

LANG = re.compile(r'<html lang="([^"]+)" data-locale="([^"]+)"')


def _html_lang(response) -> tuple[str, str]:
    return LANG.search(response.content.decode()).groups()


def _seat(pipedrive_user_id: int) -> Membership:
    return Membership.all_companies.get(company__pipedrive_company_id=ACME, pipedrive_user_id=pipedrive_user_id)


# -- the rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("uk-UA", "uk"), ("uk", "uk"), ("pt-BR", "pt-br"), ("pt_PT", "pt-br"), ("de-AT", "de"), ("et-EE", ""), ("", "")],
)
def test_pipedrive_languages_map_to_ours(tag, expected):
    assert supported_language(tag) == expected


def test_the_users_choice_wins_over_pipedrives_language():
    seat = Membership(pipedrive_language="uk-UA", pipedrive_locale="uk_UA", language="")
    assert membership_language(seat) == "uk"
    seat.language = "fr"
    assert membership_language(seat) == "fr"
    assert membership_language(Membership(pipedrive_language="et-EE")) == ""  # left to the browser


@pytest.mark.parametrize(
    ("language", "pipedrive_locale", "expected"),
    [
        ("uk", "uk_UA", "uk-UA"),
        ("en", "en_GB", "en-GB"),  # British dates for an English reader whose Pipedrive formats are British
        ("de", "en_US", "de"),  # a German page keeps German formats, not the US ones of another language
        ("pt-br", "pt_BR", "pt-BR"),
        ("pl", "", "pl"),
    ],
)
def test_format_locale_refines_the_language_with_pipedrives_region(language, pipedrive_locale, expected):
    assert format_locale(Membership(pipedrive_locale=pipedrive_locale), language) == expected


# -- Pipedrive → seat: install, sign-in, a change in Pipedrive ------------------------------------------


def test_sandbox_users_me_tells_each_users_language(pd_live, browser):
    olena = SandboxUser.objects.get(id=13)
    assert (olena.language, olena.locale) == ("uk_UA", "uk_UA")
    assert SandboxUser.objects.get(id=11).language == "en_US"


def test_install_stores_the_pipedrive_language_and_the_settings_page_speaks_it(pd_live, browser):
    install(browser, pd_live, user_id=13)
    seat = _seat(13)
    assert (seat.pipedrive_language, seat.pipedrive_locale, seat.language) == ("uk-UA", "uk_UA", "")

    page = browser.get(f"{pd_live}/settings/", headers={"Accept-Language": "de"})
    assert page.headers["Content-Language"] == "uk"
    assert LANG.search(page.text).groups() == ("uk", "uk-UA")
    assert "<title>Налаштування</title>" in page.text
    assert "Учасники" in page.text and "Members" not in page.text


def test_each_sign_in_follows_a_language_changed_in_pipedrive(pd_live, browser):
    install(browser, pd_live, user_id=13)
    SandboxUser.objects.filter(id=13).update(language="de_DE", locale="de_DE")
    install(browser, pd_live, user_id=13, via="marketplace")  # signing in again re-reads users/me
    assert (_seat(13).pipedrive_language, _seat(13).pipedrive_locale) == ("de-DE", "de_DE")
    page = browser.get(f"{pd_live}/settings/")
    assert LANG.search(page.text).groups() == ("de", "de-DE")
    assert "<title>Einstellungen</title>" in page.text


def test_an_english_pipedrive_user_keeps_english_whatever_the_browser_says(pd_live, browser):
    install(browser, pd_live, user_id=11)
    assert _seat(11).pipedrive_language == "en-US"
    page = browser.get(f"{pd_live}/settings/", headers={"Accept-Language": "uk"})
    assert LANG.search(page.text).groups() == ("en", "en-US")
    assert "<title>Settings</title>" in page.text


# -- the user's own choice -----------------------------------------------------------------------------


def test_a_member_chooses_a_language_in_settings_and_can_go_back_to_pipedrives(web_as, personas):
    Membership.all_companies.filter(pk=personas.bob_membership.pk).update(pipedrive_language="uk-UA")
    client = web_as("bob")
    page = client.get(reverse("tenants:settings"))
    assert _html_lang(page)[0] == "uk"
    form = re.search(r'<section class="card" id="language".*?</section>', page.content.decode(), re.S).group(0)
    assert 'name="language"' in form and "Як у Pipedrive (Українська)" in form
    assert all(f'value="{code}"' in form for code in ("uk", "de", "es", "fr", "pt-br", "pl", "it", "nl", "en"))

    answer = client.post(reverse("tenants:language"), {"language": "fr"})
    assert answer.status_code == 302
    assert Membership.all_companies.get(pk=personas.bob_membership.pk).language == "fr"
    page = client.get(reverse("tenants:settings"))
    assert _html_lang(page) == ("fr", "fr")
    assert "Langue enregistrée." in page.content.decode()  # the confirmation already in the new language

    client.post(reverse("tenants:language"), {"language": ""})
    assert _html_lang(client.get(reverse("tenants:settings")))[0] == "uk"


def test_an_unknown_language_is_refused_and_changes_nothing(web_as, personas):
    client = web_as("bob")
    answer = client.post(reverse("tenants:language"), {"language": "xx"}, follow=True)
    assert answer.status_code == 200
    assert "Choose one of the languages offered." in answer.content.decode()
    assert Membership.all_companies.get(pk=personas.bob_membership.pk).language == ""


def test_choosing_a_language_needs_a_signed_in_member_and_a_post(client, web_as):
    assert client.post(reverse("tenants:language"), {"language": "de"}).status_code == 302  # to sign-in
    assert web_as("bob").get(reverse("tenants:language")).status_code == 405


# -- the browser's language, then English ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("uk-UA,uk;q=0.9,en;q=0.5", "uk"), ("pt-BR", "pt-br"), ("de-CH", "de"), ("ja", "en"), ("", "en")],
)
def test_anonymous_pages_follow_the_browser_then_english(client, db, accept, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    page = client.get(reverse("home"), **headers)
    assert _html_lang(page)[0] == expected
    assert page["Content-Language"] == expected


def test_a_member_without_a_pipedrive_language_gets_the_browsers(web_as, personas):
    page = web_as("bob").get(reverse("tenants:settings"), HTTP_ACCEPT_LANGUAGE="pl")
    assert _html_lang(page) == ("pl", "pl")
    assert "<title>Ustawienia</title>" in page.content.decode()


# -- the panel and modal (Pipedrive JWT, no session) -----------------------------------------------------


def _panel_params(membership) -> dict:
    return {
        "userId": str(membership.pipedrive_user_id),
        "companyId": str(membership.company.pipedrive_company_id),
        "selectedIds": "501",
        "token": panel_token(company_id=membership.company.pipedrive_company_id, user_id=membership.pipedrive_user_id),
    }


@pytest.mark.parametrize("path", ["/panel/deal", "/panel/invoice-modal"])
def test_the_panel_and_modal_speak_the_seats_language_not_the_browsers(client, personas, path):
    Membership.all_companies.filter(pk=personas.bob_membership.pk).update(
        pipedrive_language="uk-UA", pipedrive_locale="uk_UA"
    )
    page = client.get(path, _panel_params(personas.bob_membership), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert _html_lang(page) == ("uk", "uk-UA")
    assert page["Content-Language"] == "uk"
    # The scripts' texts come from the page's catalogue, already in Ukrainian
    text = json.loads(re.search(r'<script type="application/json" id="panel-text">(.*?)</script>', body).group(1))
    assert (text["create"], text["new_invoice"], text["void"], text["keep"]) == (
        "Створити рахунок",
        "+ Рахунок",
        "Скасувати",
        "Закрити",
    )
    assert text["send"] == "Надіслати по електронній пошті" and text["pdf"] == "Завантажити PDF"


def test_the_panel_follows_the_users_override_too(client, personas):
    Membership.all_companies.filter(pk=personas.bob_membership.pk).update(pipedrive_language="uk-UA", language="nl")
    page = client.get("/panel/deal", _panel_params(personas.bob_membership))
    assert _html_lang(page)[0] == "nl"


def test_panel_api_errors_come_in_the_seats_language(personas):
    from rest_framework.test import APIClient

    def ask(language: str) -> tuple[str, dict]:
        Membership.all_companies.filter(pk=personas.bob_membership.pk).update(pipedrive_language=language)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Bearer " + _panel_params(personas.bob_membership)["token"])
        response = api.get(reverse("api:invoice-detail", args=[999999]), HTTP_ACCEPT_LANGUAGE="en")
        return response["Content-Language"], response.json()

    english_language, english = ask("en-US")
    ukrainian_language, ukrainian = ask("uk-UA")
    assert (english_language, ukrainian_language) == ("en", "uk")
    message = english["error"]["message"]
    assert ukrainian["error"]["code"] == english["error"]["code"]
    with translation.override("uk"):
        assert ukrainian["error"]["message"] == translation.gettext(message) != message


def test_a_refused_panel_speaks_the_browsers_language(client, personas):
    """No seat to ask (an unknown user): the browser's language, as on any anonymous page."""
    params = _panel_params(personas.bob_membership) | {
        "userId": "999",
        "token": panel_token(company_id=personas.company_a.pipedrive_company_id, user_id=999),
    }
    page = client.get("/panel/deal", params, HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 401
    assert _html_lang(page)[0] == "de"
    assert "Sie haben QuickBooks-Rechnungen noch nicht installiert" in page.content.decode()


@pytest.mark.parametrize("language", ["en", "uk", "de", "es", "fr", "pt-br", "pl", "it", "nl"])
def test_localized_dates_inside_sentences_keep_one_full_stop(language):
    """Ukrainian dates end in "р.": a sentence must not put its own full stop right after one."""
    from tests.factories import reconnect_card_html

    with translation.override(language):
        html = reconnect_card_html()
    assert "2026" in html
    assert ".." not in html.replace("...", "")
