from django.apps import AppConfig


class SignerConfig(AppConfig):
    name = "signer"
    verbose_name = "Signer"

    def ready(self) -> None:
        from personalization.dispatch import signer_here_register
        from signer.requests import signer_request_here

        # A station's run in this process gets the signer's answer in this process.
        signer_here_register(signer_request_here)
