"""Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys. Idempotent and resumable: rows already on the
newest key are rewritten harmlessly, and each batch commits on its own.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from tenants import crypto
from tenants.fields import EncryptedTextField


def encrypted_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt every EncryptedTextField value with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        total = 0
        for model, fields in encrypted_fields():
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            columns = [connection.ops.quote_name(f.column) for f in fields]
            last_pk = None
            rows_done = 0
            while True:
                # Raw SQL reads the ciphertext itself: the field would hand back plaintext.
                where = f"WHERE {pk} > %s " if last_pk is not None else ""
                sql = f"SELECT {pk}, {', '.join(columns)} FROM {table} {where}ORDER BY {pk} LIMIT %s"  # noqa: S608
                params = [last_pk, batch_size] if last_pk is not None else [batch_size]
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    rows = cursor.fetchall()
                    for row in rows:
                        updates = {c: crypto.rotate(v) for c, v in zip(columns, row[1:], strict=True) if v}
                        if updates:
                            assignments = ", ".join(f"{c} = %s" for c in updates)
                            cursor.execute(
                                f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                                [*updates.values(), row[0]],
                            )
                if not rows:
                    break
                last_pk = rows[-1][0]
                rows_done += len(rows)
            total += rows_done
            self.stdout.write(f"{model._meta.label}: {rows_done} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows re-encrypted with the newest key"))
