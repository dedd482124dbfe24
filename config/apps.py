from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """The Django admin, replaced by a site that requires allauth login with TOTP for staff."""

    default_site = "config.admin.StaffAdminSite"
