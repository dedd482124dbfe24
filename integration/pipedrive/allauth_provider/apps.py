from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipedriveAllauthProviderConfig(AppConfig):
    """The django-allauth social provider "Continue with Pipedrive" (no models)."""

    name = "integration.pipedrive.allauth_provider"
    label = "pipedrive_allauth"
    verbose_name = _("Pipedrive sign-in")
