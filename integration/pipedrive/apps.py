from django.apps import AppConfig


class PipedriveConfig(AppConfig):
    name = "integration.pipedrive"
    label = "pipedrive"
    verbose_name = "Pipedrive"
