from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from integration.pipedrive import lists as pipedrive_lists
from integration.quickbooks.selectors import connection_card
from invoices import settings_mapping as mapping_services
from invoices.settings_forms import FieldMappingForm
from tenants import selectors


# No transaction across the calls to Pipedrive and QuickBooks; mapping_save() is atomic itself.
@transaction.non_atomic_requests
@login_required
@require_http_methods(["GET", "POST"])
def company_settings(request):
    """The company settings page: QuickBooks connection, invoice mapping (admins edit it), members."""
    company = request.company
    membership = request.membership
    members = selectors.membership_list(company=company) if company else []
    context = {"company": company, "members": members}
    if not company:
        return render(request, "tenants/settings.html", context)
    is_admin = bool(membership and membership.is_admin)
    if request.method == "POST" and not is_admin:
        return HttpResponseForbidden(_("Only Pipedrive admins of this company can change its settings."))

    if request.method == "POST" and "refresh_lists" in request.POST:
        # Re-read Pipedrive's fields, currencies and product tax rates now instead of in a few minutes.
        pipedrive_lists.forget(company_id=company.pk)
        messages.success(request, _("Pipedrive fields and products re-read."))
        return redirect(request.path + "#mapping")

    context["quickbooks"] = connection_card(company=company, membership=membership)
    mapping = mapping_services.mapping_get(company=company)
    context["mapping"] = mapping
    context["is_admin"] = is_admin
    if is_admin:
        options = mapping_services.mapping_options(company=company, membership=membership)
        form = FieldMappingForm(
            request.POST if request.method == "POST" else None, options=options, mapping=mapping, company=company
        )
        if request.method == "POST" and form.is_valid():
            try:
                mapping_services.mapping_save(
                    company=company,
                    targets=form.targets(),
                    due_days=form.cleaned_data["due_days"],
                    default_currency=form.cleaned_data["default_currency"],
                    default_tax_mode=form.cleaned_data["default_tax_mode"],
                    default_income_account_id=form.cleaned_data["default_income_account_id"],
                    send_after_create=form.cleaned_data["send_after_create"],
                    invoice_visibility=form.cleaned_data["invoice_visibility"],
                    pipedrive_token_sharing=form.cleaned_data["pipedrive_token_sharing"],
                    deal_notes=form.cleaned_data["deal_notes"],
                    connection=options.connection,
                    tax_codes=form.tax_codes(),
                    tax_code_names=dict(options.tax_codes),
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    target = name.removesuffix("_key").removesuffix("_entity")
                    form.add_error(target if target in form.fields else None, errors)
            else:
                messages.success(request, _("Invoice settings saved."))
                return redirect(request.path + "#mapping")
        if request.method == "POST":
            messages.error(request, _("The settings were not saved: please correct the fields marked below."))
        context.update(form=form, options=options)
    status = 400 if request.method == "POST" else 200
    return render(request, "tenants/settings.html", context, status=status)
