"""A payment stored, changed or forgotten changes what the panel shows under its invoice: the same
touch trigger as deal links and events (0003) keeps the panel's ETag honest."""

from django.db import migrations

TABLE = "invoices_invoicepayment"
POSTGRES_FORWARD = [
    f"""CREATE TRIGGER {TABLE}_panel_version AFTER INSERT OR UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION invoices_panel_version_touch()""",
]
POSTGRES_BACKWARD = [f"DROP TRIGGER IF EXISTS {TABLE}_panel_version ON {TABLE}"]
SQLITE_FORWARD = [
    f"CREATE TRIGGER {TABLE}_panel_version_ins AFTER INSERT ON {TABLE} BEGIN "
    "UPDATE invoices_invoice SET panel_version = 0 WHERE id = NEW.invoice_id; END",
    f"CREATE TRIGGER {TABLE}_panel_version_upd AFTER UPDATE ON {TABLE} BEGIN "
    "UPDATE invoices_invoice SET panel_version = 0 WHERE id IN (NEW.invoice_id, OLD.invoice_id); END",
    f"CREATE TRIGGER {TABLE}_panel_version_del AFTER DELETE ON {TABLE} BEGIN "
    "UPDATE invoices_invoice SET panel_version = 0 WHERE id = OLD.invoice_id; END",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TABLE}_panel_version_{op}" for op in ("ins", "upd", "del")]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"panel_version triggers are not written for {schema_editor.connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("invoices", "0006_money_won_rule")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
