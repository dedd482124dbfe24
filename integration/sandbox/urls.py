"""Local simulators of Intuit and Pipedrive, mounted under /sandbox/ when SANDBOXES_ENABLED."""

from django.urls import path

from integration.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
]
