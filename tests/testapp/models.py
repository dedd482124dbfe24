"""Models that exist only in tests, to exercise shared machinery."""

from django.db import models

from tenants.fields import EncryptedTextField
from tenants.models import TenantModel


class StoredSecret(TenantModel):
    label = models.CharField(max_length=50)
    secret = EncryptedTextField(blank=True, default="")

    class Meta(TenantModel.Meta):
        app_label = "testapp"
