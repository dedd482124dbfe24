"""The company admin's invoice mapping form (settings page)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import cast

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.settings_mapping import RECOMMENDED, TARGETS, MappingOptions, choice_value, plain_rate
from tenants.models import Company, FieldMapping

TARGET_LABELS = {
    "to": gettext_lazy("To (customer name)"),
    "address": gettext_lazy("Address"),
    "email": gettext_lazy("Email"),
    "tax_id": gettext_lazy("Customer tax ID"),
}
ENTITY_LABELS = dict(FieldMapping.Entity.choices)


class TargetField(forms.ChoiceField):
    """A mapping target's dropdown; the page shows which choice we recommend (templates/tenants/_field.html)."""

    recommended: str = ""
    recommended_label: str = ""


def tax_field_name(rate: Decimal) -> str:
    return "tax_code_" + str(rate).replace(".", "_")


class FieldMappingForm(forms.Form):
    """Pipedrive field per customer detail, due days and defaults. Choices come from `options`
    (read live from Pipedrive and QuickBooks); values saved earlier stay selectable but are
    reported when Pipedrive no longer has them."""

    due_days = forms.IntegerField(
        label=gettext_lazy("Due date: days after the issue date"),
        min_value=0,
        max_value=365,
        error_messages={
            "min_value": gettext_lazy("Use 0 (due on receipt) or more days."),
            "max_value": gettext_lazy("QuickBooks terms longer than a year are not supported; use at most 365 days."),
        },
    )
    default_currency = forms.CharField(
        label=gettext_lazy("Default currency"),
        required=False,
        max_length=3,
        help_text=gettext_lazy("Used when a deal has no currency. Leave empty to use the QuickBooks home currency."),
    )
    default_tax_mode = forms.ChoiceField(label=gettext_lazy("Default tax mode"), choices=FieldMapping.TaxMode.choices)
    default_income_account_id = forms.ChoiceField(
        label=gettext_lazy("Income account for new QuickBooks items"), required=False
    )
    invoice_visibility = forms.ChoiceField(
        label=gettext_lazy("Who sees invoices in Pipedrive"),
        choices=Company.InvoiceVisibility.choices,
        widget=forms.RadioSelect,
    )
    send_after_create = forms.BooleanField(
        label=gettext_lazy("E-mail the invoice to the customer right after creating it"), required=False
    )
    pipedrive_token_sharing = forms.BooleanField(
        label=gettext_lazy("Let members who have not installed the app read Pipedrive with an admin's access"),
        required=False,
        help_text=gettext_lazy(
            "Off (recommended): everyone reads deals with their own Pipedrive access. On: members without "
            "their own installation use an admin's, and may see deals Pipedrive hides from them."
        ),
    )

    deal_notes = forms.BooleanField(
        label=gettext_lazy("Write a note on the Pipedrive deal when an invoice is created, paid, voided or deleted"),
        required=False,
    )

    def __init__(self, *args, options: MappingOptions, mapping: FieldMapping, company: Company, **kwargs):
        self.options = options
        self.mapping = mapping
        saved = {t: choice_value(getattr(mapping, f"{t}_entity"), getattr(mapping, f"{t}_key")) for t in TARGETS}
        live = options.field_values()
        initial = {
            "due_days": mapping.due_days,
            "default_currency": mapping.default_currency,
            "default_tax_mode": mapping.default_tax_mode,
            "default_income_account_id": mapping.default_income_account_id,
            "invoice_visibility": company.invoice_visibility,
            "send_after_create": mapping.send_after_create,
            "pipedrive_token_sharing": company.pipedrive_token_sharing,
            "deal_notes": company.deal_notes,
        }
        for target in TARGETS:
            # A never-customized mapping shows the recommendation when Pipedrive offers it.
            value = saved[target] or ""
            if not value and target in RECOMMENDED and RECOMMENDED[target] in live:
                value = RECOMMENDED[target]
            initial[target] = value
        initial.update(kwargs.pop("initial", None) or {})
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)

        for target in TARGETS:
            grouped: list[tuple[str | Promise, list[tuple[str, str]]]] = [
                # The selected option shows alone in a closed dropdown: it names its entity (issue 13).
                (
                    ENTITY_LABELS[entity],
                    [(v, self._label(v, f"{ENTITY_LABELS[entity]} › {label}")) for v, label in choices],
                )
                for entity, choices in options.fields.items()
                if choices
            ]
            if saved[target] and saved[target] not in live:
                # Keep the stored choice visible even if Pipedrive is unreachable or the field is gone.
                grouped.insert(0, (_("Saved"), [(saved[target], saved[target])]))
            empty = _("— choose a field —") if target == "to" else _("— leave empty —")
            field = TargetField(label=TARGET_LABELS[target], choices=[("", empty), *grouped], required=target == "to")
            self.fields[target] = field
            recommended = RECOMMENDED.get(target, "")
            field.recommended = recommended
            field.recommended_label = next(
                (
                    f"{ENTITY_LABELS[entity]} › {label}"
                    for entity, items in options.fields.items()
                    for value, label in items
                    if value == recommended
                ),
                "",
            )
        self.order_fields([*TARGETS, "due_days"])

        accounts = [("", _("— none —")), *options.income_accounts]
        if mapping.default_income_account_id and mapping.default_income_account_id not in dict(accounts):
            accounts.append((mapping.default_income_account_id, mapping.default_income_account_id))
        cast(forms.ChoiceField, self.fields["default_income_account_id"]).choices = accounts
        self.fields["default_currency"].widget.attrs.update(
            {"list": "currency-options", "autocomplete": "off", "pattern": "[A-Za-z]{3}", "size": 4}
        )

        self.tax_rate_fields: list[tuple[Decimal, str]] = []
        if options.uses_tax_codes:
            from invoices.settings_mapping import tax_codes_current

            current = tax_codes_current(connection=options.connection)
            codes = [("", _("— not mapped —")), *options.tax_codes]
            for rate in options.tax_rates:
                name = tax_field_name(rate)
                self.fields[name] = forms.ChoiceField(
                    label=_("Pipedrive tax %(rate)s %%") % {"rate": rate}, choices=codes, required=False
                )
                self.initial[name] = current.get(rate, "")
                self.tax_rate_fields.append((rate, name))
            self.fields["new_tax_rate"] = forms.DecimalField(
                label=_("Another Pipedrive tax rate (%)"), required=False, min_value=0, max_value=Decimal("99.9999")
            )
            self.fields["new_tax_code"] = forms.ChoiceField(
                label=_("QuickBooks tax code for it"), choices=codes, required=False
            )

    def full_clean(self):
        super().full_clean()
        # Screen readers announce the error and help text with the field.
        for name in self.fields:
            bound = self[name]
            described = [f"{bound.auto_id}_help"] if bound.help_text or getattr(bound.field, "recommended", "") else []
            if name in self.errors:
                bound.field.widget.attrs["aria-invalid"] = "true"
                described.append(f"{bound.auto_id}_errors")
            if described:
                bound.field.widget.attrs["aria-describedby"] = " ".join(described)

    @staticmethod
    def _label(value: str, label: str) -> str:
        return _("%(label)s (recommended)") % {"label": label} if value in RECOMMENDED.values() else label

    # -- per-field checks ------------------------------------------------------------------

    def _check_target(self, target: str) -> str:
        value = self.cleaned_data.get(target, "")
        if value and self.options.fields and value not in self.options.field_values():
            raise forms.ValidationError(
                _("Pipedrive no longer has this field (it was deleted or renamed). Choose another one.")
            )
        return value

    def clean_to(self):
        return self._check_target("to")

    def clean_address(self):
        return self._check_target("address")

    def clean_email(self):
        return self._check_target("email")

    def clean_tax_id(self):
        return self._check_target("tax_id")

    def clean_default_currency(self):
        value = (self.cleaned_data.get("default_currency") or "").strip().upper()
        if not value:
            return ""
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise forms.ValidationError(_("Use a three-letter ISO currency code, e.g. USD."))
        if self.options.currencies and value not in self.options.currencies:
            raise forms.ValidationError(_("Pipedrive does not have the currency %(code)s.") % {"code": value})
        connection = self.options.connection
        if (
            connection is not None
            and connection.home_currency
            and not connection.multicurrency_enabled
            and value != connection.home_currency
        ):
            raise forms.ValidationError(
                _(
                    "Your QuickBooks company works in %(home)s only (multicurrency is off), so it cannot "
                    "invoice in %(code)s. Turn on multicurrency in QuickBooks or choose %(home)s."
                )
                % {"home": connection.home_currency, "code": value}
            )
        return value

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("to") and data.get("to") in (data.get("email"), data.get("address")):
            self.add_error("to", _("The customer name and its email or address cannot come from the same field."))
        if self.options.uses_tax_codes:
            rate, code = data.get("new_tax_rate"), data.get("new_tax_code")
            if rate is not None and not code:
                self.add_error("new_tax_code", _("Choose the QuickBooks tax code for this rate."))
            if code and rate is None:
                self.add_error("new_tax_rate", _("Enter the Pipedrive tax rate this code is for."))
            if (
                data.get("default_tax_mode") != FieldMapping.TaxMode.NONE
                and self.options.tax_codes
                and not any(data.get(name) for _rate, name in self.tax_rate_fields)
                and not code
            ):
                self.add_error(
                    None,
                    _(
                        "Your QuickBooks company needs a tax code on every invoice line. Map at least the "
                        "Pipedrive tax rates you use, or choose 'No tax' as the default tax mode."
                    ),
                )
        return data

    def tax_codes(self) -> dict[Decimal, str] | None:
        """rate -> TaxCode id ('' forgets the rate); None for US companies."""
        if not self.options.uses_tax_codes:
            return None
        chosen = {rate: self.cleaned_data.get(name) or "" for rate, name in self.tax_rate_fields}
        if self.cleaned_data.get("new_tax_rate") is not None and self.cleaned_data.get("new_tax_code"):
            chosen[plain_rate(self.cleaned_data["new_tax_rate"])] = self.cleaned_data["new_tax_code"]
        return chosen

    def targets(self) -> dict[str, str]:
        return {target: self.cleaned_data.get(target, "") for target in TARGETS}
