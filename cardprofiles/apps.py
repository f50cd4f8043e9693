from django.apps import AppConfig


class CardProfilesConfig(AppConfig):
    name = "cardprofiles"
    verbose_name = "Card profiles"
