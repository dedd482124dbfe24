"""The language override on the Settings page (tenants/language.py has the rule)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants.language import LanguageForm, membership_language, membership_language_set


@login_required
@require_POST
def language_update(request):
    """Save the member's language for this seat, then show Settings in it."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return redirect("tenants:settings")
    form = LanguageForm(request.POST, membership=membership)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages offered."))
        return redirect("tenants:settings")
    membership_language_set(membership=membership, language=form.cleaned_data["language"])
    language = membership_language(membership) or translation.get_language_from_request(request)
    translation.activate(language)  # the confirmation already speaks the new language
    messages.success(request, _("Language saved."))
    return redirect("tenants:settings")
