"""Triggers that tell the web processes which company's panel data changed (issue 12, invoices/panel_cache.py).

After any insert, update or delete of a row a panel read depends on (the tables its statements read:
invoices/panel_sql.py), PostgreSQL queues `NOTIFY panel_changed, '<company id>'`; notices are sent at
commit (a rolled-back write sends none) and identical ones in a transaction are sent once, so a
sync writing 500 rows of one company sends one. A user row names no company: its notice is '*'
(every company). SQLite has no LISTEN: the response cache is off there, and so are these triggers.
"""

from django.db import migrations

# table -> the column naming its company ('*': all companies)
TABLES = {
    "invoices_invoice": "company_id",
    "invoices_invoicedeal": "company_id",
    "invoices_invoiceevent": "company_id",
    "invoices_invoicepayment": "company_id",
    "invoices_wondeal": "company_id",
    "invoices_customerbalance": "company_id",
    "tenants_membership": "company_id",
    "tenants_company": "id",
    "tenants_user": "*",
    "quickbooks_quickbooksconnection": "company_id",
}

FUNCTION = """CREATE FUNCTION invoices_panel_notify() RETURNS trigger AS $$
DECLARE company text;
BEGIN
  IF TG_ARGV[0] = '*' THEN company := '*';
  ELSIF TG_OP = 'DELETE' THEN company := to_jsonb(OLD) ->> TG_ARGV[0];
  ELSE company := to_jsonb(NEW) ->> TG_ARGV[0];
  END IF;
  PERFORM pg_notify('panel_changed', COALESCE(company, '*'));
  RETURN NULL;
END
$$ LANGUAGE plpgsql"""

FORWARD = [FUNCTION] + [
    f"CREATE TRIGGER {table}_panel_notify AFTER INSERT OR UPDATE OR DELETE ON {table}"
    f" FOR EACH ROW EXECUTE FUNCTION invoices_panel_notify('{column}')"
    for table, column in TABLES.items()
]
BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_panel_notify ON {table}" for table in TABLES] + [
    "DROP FUNCTION IF EXISTS invoices_panel_notify()"
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # no LISTEN/NOTIFY: the panel cache stays off (invoices/panel_cache.py)
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0009_credit_memos_and_customer_balances"),
        ("quickbooks", "0002_admin_labels"),
        ("tenants", "0005_membership_language"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
