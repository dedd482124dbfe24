"""Triggers that tell the web processes which company's panel data changed (issue 12, invoices/panel_cache.py).

After any insert, update or delete of a row a panel read depends on (the tables its statements read:
invoices/panel_sql.py READ_MODELS), PostgreSQL queues `NOTIFY panel_changed, '<company id>'`; notices
are sent at commit (a rolled-back write sends none) and identical ones in a transaction are sent once,
so a sync writing 500 rows of one company sends one. A user row names no company: a change of what
the panel shows of a user (name, email, is_active; not last_login, written at every sign-in) is
sent to each company the user is a member of. TRUNCATE sends '*' (every company). The column is
read directly (not through to_jsonb(NEW)): bulk writes stay cheap.
SQLite has no LISTEN: the cache is off there, and so are these triggers.
"""

from django.db import migrations

# table -> its trigger function
TABLES = {
    "invoices_invoice": "invoices_panel_notify",
    "invoices_invoicedeal": "invoices_panel_notify",
    "invoices_invoiceevent": "invoices_panel_notify",
    "invoices_invoicepayment": "invoices_panel_notify",
    "invoices_wondeal": "invoices_panel_notify",
    "invoices_customerbalance": "invoices_panel_notify",
    "tenants_membership": "invoices_panel_notify",
    "quickbooks_quickbooksconnection": "invoices_panel_notify",
    "tenants_company": "invoices_panel_notify_company",
    "tenants_user": "invoices_panel_notify_user",
}

FUNCTIONS = [
    # Rows with a company_id column.
    """CREATE FUNCTION invoices_panel_notify() RETURNS trigger AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN PERFORM pg_notify('panel_changed', '*'); RETURN NULL; END IF;
      IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('panel_changed', OLD.company_id::text); END IF;
      IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('panel_changed', NEW.company_id::text); END IF;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION invoices_panel_notify_company() RETURNS trigger AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN PERFORM pg_notify('panel_changed', '*'); RETURN NULL; END IF;
      PERFORM pg_notify('panel_changed', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text);
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION invoices_panel_notify_user() RETURNS trigger AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN PERFORM pg_notify('panel_changed', '*'); RETURN NULL; END IF;
      IF TG_OP = 'UPDATE' AND NEW.name IS NOT DISTINCT FROM OLD.name AND NEW.email IS NOT DISTINCT FROM OLD.email
         AND NEW.is_active IS NOT DISTINCT FROM OLD.is_active THEN
        RETURN NULL;
      END IF;
      PERFORM pg_notify('panel_changed', m.company_id::text) FROM tenants_membership m
        WHERE m.user_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
      RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
]

FORWARD = FUNCTIONS + [
    statement
    for table, function in TABLES.items()
    for statement in (
        f"CREATE TRIGGER {table}_panel_notify AFTER INSERT OR UPDATE OR DELETE ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_panel_notify_truncate AFTER TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    )
]
BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_panel_notify{suffix} ON {table}" for table in TABLES for suffix in ("", "_truncate")
] + [f"DROP FUNCTION IF EXISTS {function}()" for function in sorted(set(TABLES.values()))]


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
