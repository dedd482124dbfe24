import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tenants import crypto
from tenants.scoping import company_scope
from tests.testapp.models import StoredSecret

CANARY = "canary-token-7f3a9c"


def raw_values() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {StoredSecret._meta.db_table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_secret_is_encrypted_at_rest_and_decrypted_on_read(personas):
    with company_scope(personas.company_a):
        stored = StoredSecret.objects.create(label="qbo", secret=CANARY)
        assert StoredSecret.objects.get(pk=stored.pk).secret == CANARY
    [raw] = raw_values()
    assert CANARY not in raw
    assert crypto.decrypt(raw) == CANARY


def test_each_write_has_a_fresh_ciphertext(personas):
    StoredSecret.all_companies.create(company=personas.company_a, label="a", secret=CANARY)
    StoredSecret.all_companies.create(company=personas.company_a, label="b", secret=CANARY)
    first, second = raw_values()
    assert first != second


def test_empty_secret_stays_empty(personas):
    StoredSecret.all_companies.create(company=personas.company_a, label="empty", secret="")
    assert raw_values() == [""]
    assert StoredSecret.all_companies.get().secret == ""


def test_unknown_key_fails_loudly(personas, settings):
    StoredSecret.all_companies.create(company=personas.company_a, label="a", secret=CANARY)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        StoredSecret.all_companies.get()


def test_serialization_never_writes_the_secret(personas):
    from django.core import serializers

    StoredSecret.all_companies.create(company=personas.company_a, label="a", secret=CANARY)
    dumped = serializers.serialize("json", StoredSecret.all_companies.all())
    assert CANARY not in dumped
    assert "<encrypted>" in dumped


def test_rotation_re_encrypts_every_row_with_the_newest_key(personas, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    for index in range(7):
        StoredSecret.all_companies.create(
            company=personas.company_a if index % 2 else personas.company_b,
            label=str(index),
            secret=f"{CANARY}-{index}",
        )
    StoredSecret.all_companies.create(company=personas.company_a, label="empty", secret="")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys", batch_size=3, stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("rotate_encryption_keys", batch_size=3, stdout=open("/dev/null", "w"))  # idempotent  # noqa: SIM115

    only_new = Fernet(new_key.encode())
    values = raw_values()
    assert [only_new.decrypt(v.encode()).decode() for v in values if v] == [f"{CANARY}-{i}" for i in range(7)]
    assert values[-1] == ""
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert sorted(s.secret for s in StoredSecret.all_companies.exclude(label="empty"))[0] == f"{CANARY}-0"
