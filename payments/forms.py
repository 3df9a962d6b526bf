"""The billing modal's forms: every amount goes through wallets.forms.MoneyField."""

from django import forms

from wallets.forms import MoneyField


class TopUpForm(forms.Form):
    amount = MoneyField(label="Top-up amount")


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    threshold = MoneyField(label="Minimum balance")
    auto_amount = MoneyField(label="Auto top-up amount")
    monthly_cap = MoneyField(label="Monthly cap", required=False)


def form_error_messages(form: forms.Form, *, hints: dict[str, str] | None = None) -> list[str]:
    """Every field's complaint, for the dialog to list them all at once: each named by its
    field when the form has several, followed by that field's hint (e.g. the top-up limits)."""
    messages = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if len(form.fields) > 1 and name in form.fields else None
        message = f"{label}: {errors[0]}" if label else errors[0]
        hint = (hints or {}).get(name)
        messages.append(f"{message} {hint}" if hint else message)
    return messages
