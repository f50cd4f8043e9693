from django import forms

from cardprofiles.models import CardProfile
from cards.models import Card, CardActionRequest, CardRequest


class CardRequestForm(forms.Form):
    profile = forms.ModelChoiceField(
        queryset=CardProfile.objects.filter(is_active=True), to_field_name="name"
    )
    reason = forms.ChoiceField(choices=CardRequest.Reason.choices)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label="Decision note",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required to reject; recorded in the audit trail.",
    )
    # The snapshot the approver was shown: an approval covers that identity and no other.
    identity_sha256 = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class CardActionForm(forms.Form):
    """Ask for a card's suspension, resumption or revocation (another officer approves)."""

    action = forms.ChoiceField(choices=CardActionRequest.Action.choices)
    reason = forms.ChoiceField(
        label="What happened to the card",
        choices=[("", "—"), *Card.RevocationReason.choices],
        required=False,
        help_text="For a revocation.",
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class EmergencyRevocationForm(forms.Form):
    reason = forms.ChoiceField(
        label="What happened to the card", choices=Card.RevocationReason.choices
    )
    comment = forms.CharField(
        label="Why it cannot wait for a second officer", widget=forms.Textarea(attrs={"rows": 2})
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
