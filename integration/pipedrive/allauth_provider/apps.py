from django.apps import AppConfig


class PipedriveAllauthProviderConfig(AppConfig):
    """The django-allauth social provider "Continue with Pipedrive" (no models)."""

    name = "integration.pipedrive.allauth_provider"
    label = "pipedrive_allauth"
    verbose_name = "Pipedrive sign-in"
