from django.apps import AppConfig


class PipedriveSandboxConfig(AppConfig):
    name = "integration.sandbox.pipedrive"
    label = "pipedrive_sandbox"
    verbose_name = "Sandbox: Pipedrive"
