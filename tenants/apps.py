from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Companies and users"

    def ready(self) -> None:
        from tenants import signals  # noqa: F401  (connects the login handler)
