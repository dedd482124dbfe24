from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from integration.quickbooks.selectors import connection_card
from tenants import selectors


@login_required
def company_settings(request):
    """The company settings page (connection and mapping cards arrive with later features)."""
    company = request.company
    members = selectors.membership_list(company=company) if company else []
    context = {"company": company, "members": members}
    if company:
        context["quickbooks"] = connection_card(company=company, membership=request.membership)
    return render(request, "tenants/settings.html", context)
