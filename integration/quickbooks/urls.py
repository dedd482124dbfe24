from django.urls import path

from integration.quickbooks import views

app_name = "quickbooks"

urlpatterns = [
    path("connect", views.connect, name="connect"),
    path("callback", views.callback, name="callback"),
    path("disconnect", views.disconnect, name="disconnect"),
    path("link", views.link, name="link"),
]
