"""Support staff see installations in the admin, never their tokens."""

from __future__ import annotations

from django.contrib import admin
from django.test import RequestFactory

from integration.pipedrive.models import PipedriveInstallation


def test_installation_admin_never_shows_tokens(db):
    model_admin = admin.site._registry[PipedriveInstallation]
    request = RequestFactory().get("/admin/")
    fields = set(model_admin.get_fields(request)) | set(model_admin.list_display) | set(model_admin.search_fields)
    assert not {name for name in fields if "token" in name}
    assert {"company", "pipedrive_user_id", "access_expires_at"} <= set(model_admin.get_fields(request))
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
