"""Deployment checks for accounts (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# These backends keep mail on this host: the console one prints set-password links to the log.
LOCAL_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@register(Tags.security, deploy=True)
def check_email_backend(app_configs, **kwargs):
    if settings.EMAIL_BACKEND not in LOCAL_EMAIL_BACKENDS:
        return []
    return [
        Warning(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: set-password links never reach users "
            "(the console backend writes them, single-use secrets, to the log)",
            hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST….",
            id="accounts.W001",
        )
    ]
