from django.apps import AppConfig


class SignerConfig(AppConfig):
    name = "signer"
    verbose_name = "Signer"

    def ready(self) -> None:
        from personalization.dispatch import signer_here_register
        from personalization.station_identity import station_enrol_here_register
        from signer.requests import signer_request_here
        from signer.stations import station_enrol_here

        # A station's run in this process gets the signer's answer in this process; on a shared
        # development host, a station is enrolled where it starts.
        signer_here_register(signer_request_here)
        station_enrol_here_register(station_enrol_here)
