from django.apps import AppConfig


class QboSandboxConfig(AppConfig):
    name = "integration.sandbox.quickbooks"
    label = "qbo_sandbox"
    verbose_name = "Sandbox: QuickBooks Online"
