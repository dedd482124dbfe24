"""Invoice.panel_version: a per-invoice version stamped by triggers, for the panel's ETags (issue 12).

Every insert or update of an invoice, and every insert, update or delete of one of its deal links or
events, gives the invoice a fresh number from a counter, in the writing transaction, whatever the
code path (save(), queryset update(), bulk_create, cascades). A read's ETag hashes count, sum of
versions and sum of ids of the invoices it shows: any change to the set or to a member changes it.
PostgreSQL uses a sequence (no lock beyond the invoice row the writer already holds); SQLite, a
one-row counter table (SQLite has a single writer anyway).
"""

from django.db import migrations, models

POSTGRES_FORWARD = [
    "CREATE SEQUENCE invoices_panel_version_seq",
    """CREATE FUNCTION invoices_panel_version_stamp() RETURNS trigger AS $$
    BEGIN NEW.panel_version := nextval('invoices_panel_version_seq'); RETURN NEW; END
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER invoices_invoice_panel_version BEFORE INSERT OR UPDATE ON invoices_invoice
    FOR EACH ROW EXECUTE FUNCTION invoices_panel_version_stamp()""",
    """CREATE FUNCTION invoices_panel_version_touch() RETURNS trigger AS $$
    BEGIN
      IF TG_OP <> 'DELETE' THEN UPDATE invoices_invoice SET panel_version = 0 WHERE id = NEW.invoice_id; END IF;
      IF TG_OP <> 'INSERT' THEN UPDATE invoices_invoice SET panel_version = 0 WHERE id = OLD.invoice_id; END IF;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER invoices_invoicedeal_panel_version AFTER INSERT OR UPDATE OR DELETE ON invoices_invoicedeal
    FOR EACH ROW EXECUTE FUNCTION invoices_panel_version_touch()""",
    """CREATE TRIGGER invoices_invoiceevent_panel_version AFTER INSERT OR UPDATE OR DELETE ON invoices_invoiceevent
    FOR EACH ROW EXECUTE FUNCTION invoices_panel_version_touch()""",
    "UPDATE invoices_invoice SET panel_version = 0",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS invoices_invoiceevent_panel_version ON invoices_invoiceevent",
    "DROP TRIGGER IF EXISTS invoices_invoicedeal_panel_version ON invoices_invoicedeal",
    "DROP TRIGGER IF EXISTS invoices_invoice_panel_version ON invoices_invoice",
    "DROP FUNCTION IF EXISTS invoices_panel_version_touch()",
    "DROP FUNCTION IF EXISTS invoices_panel_version_stamp()",
    "DROP SEQUENCE IF EXISTS invoices_panel_version_seq",
]

_SQLITE_STAMP = """
    UPDATE invoices_panel_version_seq SET value = value + 1 WHERE id = 1;
    UPDATE invoices_invoice SET panel_version = (SELECT value FROM invoices_panel_version_seq WHERE id = 1)
    WHERE id = {row}.id;"""
# A trigger's own UPDATE of invoices_invoice does not fire it again (recursive_triggers is off).
SQLITE_FORWARD = [
    "CREATE TABLE invoices_panel_version_seq (id integer PRIMARY KEY, value integer NOT NULL)",
    "INSERT INTO invoices_panel_version_seq (id, value) VALUES (1, 0)",
    "CREATE TRIGGER invoices_invoice_panel_version_ins AFTER INSERT ON invoices_invoice BEGIN"
    + _SQLITE_STAMP.format(row="NEW")
    + " END",
    "CREATE TRIGGER invoices_invoice_panel_version_upd AFTER UPDATE ON invoices_invoice BEGIN"
    + _SQLITE_STAMP.format(row="NEW")
    + " END",
]
for _table in ("invoices_invoicedeal", "invoices_invoiceevent"):
    SQLITE_FORWARD += [
        f"CREATE TRIGGER {_table}_panel_version_ins AFTER INSERT ON {_table} BEGIN "
        "UPDATE invoices_invoice SET panel_version = 0 WHERE id = NEW.invoice_id; END",
        f"CREATE TRIGGER {_table}_panel_version_upd AFTER UPDATE ON {_table} BEGIN "
        "UPDATE invoices_invoice SET panel_version = 0 WHERE id IN (NEW.invoice_id, OLD.invoice_id); END",
        f"CREATE TRIGGER {_table}_panel_version_del AFTER DELETE ON {_table} BEGIN "
        "UPDATE invoices_invoice SET panel_version = 0 WHERE id = OLD.invoice_id; END",
    ]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "invoices_invoice_panel_version_ins",
        "invoices_invoice_panel_version_upd",
        *(
            f"{t}_panel_version_{op}"
            for t in ("invoices_invoicedeal", "invoices_invoiceevent")
            for op in ("ins", "upd", "del")
        ),
    )
] + ["DROP TABLE IF EXISTS invoices_panel_version_seq"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"panel_version triggers are not written for {schema_editor.connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_taxcodemapping")]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="panel_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
