from django import forms


class CodeForm(forms.Form):
    """The six digits an authenticator app shows."""

    otp_token = forms.CharField(
        label="Code",
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The six digits your authenticator app shows for CardForge now.",
    )
