"""Model fields."""

from __future__ import annotations

from django.db import models

from tenants import crypto


class EncryptedTextField(models.TextField):
    """A text secret stored encrypted (Fernet token); reads give the plaintext back.

    Never filter on it: the ciphertext changes with every write.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def value_to_string(self, obj):
        # Serialization (dumpdata) never writes the secret in clear.
        return "<encrypted>"
