"""Which language a user sees, and which locale formats their dates, numbers and money.

One rule (issue 14), in order: the user's own choice in Settings (`Membership.language`), else their
Pipedrive language (`Membership.pipedrive_language`, refreshed from users/me at every install and
sign-in), else the browser's `Accept-Language` (Django's LocaleMiddleware), else English.
The HTML pages resolve it in `tenants.middleware.MembershipLanguageMiddleware`; the panel and modal
(Pipedrive JWT, no session) resolve it once the token names the seat (`activate_for_membership`).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tenants.models import Membership


def supported_language(tag: str) -> str:
    """Our language for a tag such as "uk-UA", "pt_BR" or "de" ("" when we do not ship it).
    A regional tag falls back to its language, and a bare language to our one variant of it
    ("pt" → "pt-br")."""
    tag = (tag or "").strip().replace("_", "-").lower()
    if not tag:
        return ""
    try:
        return translation.get_supported_language_variant(tag)
    except LookupError:
        return ""


def membership_language(membership: Membership | None) -> str:
    """The seat's language: its own choice, else Pipedrive's; "" leaves it to the browser."""
    if membership is None:
        return ""
    return supported_language(membership.language) or supported_language(membership.pipedrive_language)


def activate_for_membership(request, membership: Membership | None) -> str:
    """Activate the seat's language for the rest of this request (when it has one) and remember the
    seat for the page's formats. Returns the active language."""
    if request is not None:
        request.language_membership = membership
    language = membership_language(membership)
    if language:
        translation.activate(language)
        if request is not None:
            request.LANGUAGE_CODE = language
    return translation.get_language()


def format_locale(membership: Membership | None, language: str | None = None) -> str:
    """The BCP 47 locale the browser formats dates, numbers and money with (Intl).

    It is the active language, refined by the region of Pipedrive's `locale` (its date/number
    format setting) when that locale is in the same language: en + en_GB → "en-GB", uk + uk_UA →
    "uk-UA". A locale in another language is not mixed in (German words with US dates read wrong).
    """
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    base = language.split("-")[0]
    if membership is not None and membership.pipedrive_locale:
        parts = membership.pipedrive_locale.replace("-", "_").split("_")
        if len(parts) >= 2 and parts[0].lower() == base and parts[-1].isalpha():
            return f"{base}-{parts[-1].upper()}"
    if "-" in language:
        return f"{base}-{language.split('-')[1].upper()}"
    return base


def membership_language_set(*, membership: Membership, language: str) -> Membership:
    """Store the user's own language for this seat ("" follows Pipedrive again)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"unsupported language {language!r}")
    membership.language = language
    membership.save(update_fields=["language"])
    return membership


class LanguageForm(forms.Form):
    """The language override on the Settings page (every member, not only admins)."""

    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        pipedrive = supported_language(membership.pipedrive_language)
        names = dict(settings.LANGUAGES)
        follow = (
            _("As in Pipedrive (%(language)s)") % {"language": names[pipedrive]}
            if pipedrive
            else _("As in Pipedrive (your browser's language when Pipedrive's is not offered)")
        )
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", follow), *settings.LANGUAGES]
        field.help_text = _("The language of these pages and of the panel in Pipedrive.")
        self.initial.setdefault("language", membership.language)


def context(request) -> dict:
    """Template context: the formats locale for `<html data-locale>`, and the Settings language form."""
    membership = getattr(request, "language_membership", None) or getattr(request, "membership", None)
    data: dict[str, object] = {"FORMAT_LOCALE": format_locale(membership)}
    if getattr(request, "membership", None) is not None:
        data["language_form"] = LanguageForm(membership=request.membership)
    return data
