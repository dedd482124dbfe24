from django.urls import path

from integration.pipedrive import views

app_name = "pipedrive"

urlpatterns = [
    # The app's one registered Callback URL: GET = install redirect, DELETE = uninstall notice.
    path("callback", views.callback, name="callback"),
    # Start the install from our site (landing page button; Developer Hub "Installation URL").
    path("install", views.install, name="install"),
    # A Marketplace install (no state) over someone else's session asks before switching accounts.
    path("install/confirm", views.install_confirm, name="install-confirm"),
]
