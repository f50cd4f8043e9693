"""The filter for error pages and error e-mails (DEFAULT_EXCEPTION_REPORTER_FILTER).

Django's filter hides settings and META entries whose names contain API, AUTH, TOKEN, KEY,
SECRET, PASS or SIGNATURE, and only while DEBUG is off. CardForge's secrets have other names
(CARDFORGE_KEK, PINs, PUKs, TOTP seeds, the master card-management key) and a developer's DEBUG
page is shown to whoever triggers the error. So this filter is always on, hides those names
too, and also hides local variables (and dict entries) with such names in the traceback's
frames.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

_HIDDEN = re.compile(
    r"API|AUTH|TOKEN|KEY|KEK|SECRET|PASS|SIGNATURE|HTTP_COOKIE|PIN|PUK|MASTER|OTP|SEED|PRIVATE"
    r"|CREDENTIAL|SESSION|CSRF|DATABASE_URL|BROKER_URL",
    flags=re.IGNORECASE,
)


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = _HIDDEN

    def is_active(self, request) -> bool:
        # Also with DEBUG on: the DEBUG page is where a .env KEK was seen (issue 12).
        return True

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        items = variables.items() if isinstance(variables, dict) else variables
        # cleanse_setting hides a value by its name, and dict entries (a context, kwargs) by key.
        return [(name, self.cleanse_setting(str(name), value)) for name, value in items]
