"""Local simulators of Intuit and Pipedrive, mounted under /sandbox/ when SANDBOXES_ENABLED."""

from django.urls import include, path

from integration.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("quickbooks/", include("integration.sandbox.quickbooks.urls")),
    path("pipedrive/", include("integration.sandbox.pipedrive.urls")),
]
