from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class StaffAdminConfig(AdminConfig):
    """The Django admin, replaced by a site that requires allauth login with TOTP for staff."""

    default_site = "config.admin.StaffAdminSite"


class ProjectConfig(AppConfig):
    """The project itself, as an app, to register its system checks."""

    name = "config"
    verbose_name = _("Project")

    def ready(self):
        from config import checks  # noqa: F401 (registers the checks)
