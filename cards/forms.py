from django import forms

from cardprofiles.models import CardProfile
from cards.models import CardRequest


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
