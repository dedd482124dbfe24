from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from tenants import selectors


@login_required
def company_settings(request):
    """The company settings page (connection and mapping cards arrive with later features)."""
    company = request.company
    members = selectors.membership_list(company=company) if company else []
    return render(request, "tenants/settings.html", {"company": company, "members": members})
