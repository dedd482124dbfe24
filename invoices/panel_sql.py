"""The panel reads' SQL (invoices/panel_reads.py): the statements, built once per process, and the
cursor that prepares them on PostgreSQL."""

from __future__ import annotations

from django.db import connection as db

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import CustomerBalance, Invoice, InvoiceDeal, InvoiceEvent, InvoicePayment, WonDeal
from tenants.models import Company, Membership, User

FIELDS = (
    "id",
    "qbo_id",
    "doc_number",
    "state",
    "status",
    "customer_name",
    "customer_qbo_id",
    "bill_email",
    "currency",
    "total",
    "balance",
    "tax_total",
    "txn_date",
    "due_date",
    "sent",
    "last_error",
    "panel_version",
)

# -- the statements -----------------------------------------------------------------------------
#
# Hand-written (PostgreSQL and SQLite): the ORM spent longer compiling these than the database
# spent running them. Every statement starts with the seat's columns (SEAT_COLUMNS) (fingerprint()), so the
# member's rights and the connection are re-checked in the same round trip that reads the data.

SEAT_COLUMNS = 18
BALANCE_COLUMNS = 3  # the contact statements: the customer, then its open balance, unapplied credit, currency

_SEAT = """
    SELECT m.id AS m_id, m.pipedrive_user_id AS m_user, m.is_admin AS m_admin,
           m.language AS m_lang, m.pipedrive_language AS m_pd_lang, u.is_active AS u_active,
           c.id AS c_id, c.pipedrive_company_id AS c_pd, c.status AS c_status, c.invoice_visibility AS c_vis,
           q.id AS q_id, q.status AS q_status, q.owner_id AS q_owner, q.company_name AS q_name,
           q.home_currency AS q_currency, q.timezone AS q_tz, ou.name AS o_name, ou.email AS o_email
    FROM {membership} m
    JOIN {user} u ON u.id = m.user_id
    JOIN {company} c ON c.id = m.company_id
    LEFT JOIN {connection} q ON q.id = (
        SELECT q2.id FROM {connection} q2
        WHERE q2.company_id = m.company_id AND q2.status IN (%(live1)s, %(live2)s) ORDER BY q2.id LIMIT 1
    )
    LEFT JOIN {membership} om ON om.id = q.owner_id
    LEFT JOIN {user} ou ON ou.id = om.user_id
    WHERE m.id = %(membership)s"""

_WON = """
    SELECT state AS won_state, CAST(problems AS TEXT) AS won_problems, invoice_id AS won_invoice
    FROM {won} WHERE company_id = %(company)s AND deal_id = %(deal_id)s"""

# The deal's invoices / the contact's invoices in a date range (alias i).
# The invoice's company is bound by the link's (l.company_id) and by the connection, which is the
# company's own (the seat's). Not repeated as i.company_id = %(company)s: with both company and
# connection on the invoice, PostgreSQL multiplied their selectivities, expected 10 of the company's
# 1,000 invoices, and hashed them all rather than looking up the deal's 25 by primary key.
_OF_DEAL = (
    "JOIN {deal} l ON l.invoice_id = i.id"
    " WHERE l.company_id = %(company)s AND l.deal_id = %(deal_id)s AND i.connection_id = %(connection)s"
)
_OF_CUSTOMER = (
    "WHERE i.company_id = %(company)s AND i.connection_id = %(connection)s AND i.state = %(created)s"
    " AND i.customer_qbo_id = ({customer}){date_from}{date_to}"
)
# The deal's QuickBooks customer: that of its newest invoice that has one (Invoice's ordering).
_CUSTOMER = """
    SELECT ci.customer_qbo_id FROM {invoice} ci JOIN {deal} cl ON cl.invoice_id = ci.id
    WHERE cl.company_id = %(company)s AND cl.deal_id = %(deal_id)s AND ci.connection_id = %(connection)s
      AND ci.customer_qbo_id <> ''
    ORDER BY ci.txn_date DESC, ci.id DESC LIMIT 1"""

_AGGREGATES = """
    SELECT COUNT(i.id) AS n, COALESCE(SUM(i.panel_version), 0) AS v, COALESCE(SUM(i.id), 0) AS s
    FROM {invoice} i {where}"""


def _json_list(expr: str, order: str) -> str:
    """A JSON list aggregate as text; its rows come from a subquery already in `order`."""
    if db.vendor == "postgresql":
        return f"CAST(COALESCE(json_agg({expr} ORDER BY {order}), '[]'::json) AS TEXT)"
    return f"json_group_array({expr})"  # SQLite aggregates in the subquery's order


def _json_array(*exprs: str) -> str:
    return ("json_build_array({})" if db.vendor == "postgresql" else "json_array({})").format(", ".join(exprs))


def _invoices(where: str) -> str:
    """The invoices matching `where`, each with its deal ids, last events and payments (JSON lists)."""
    columns = ", ".join(f"i.{name}" for name in FIELDS)
    # The invoices are filtered first, then their lists read: without the fence PostgreSQL read the
    # lists of all the company's invoices before joining to the deal's 25 (45 ms instead of 1).
    fence = " OFFSET 0" if db.vendor == "postgresql" else ""
    deal_ids = _json_list("x.deal_id", "x.deal_id")
    # The event's data rides along (as JSON, not text) so its line is rendered in the reader's
    # language (invoices/event_text.py).
    event_data = "h.data" if db.vendor == "postgresql" else "json(h.data)"
    history = _json_list(
        _json_array("h.kind", "h.message", event_data, "h.actor_id", "h.name", "h.email", "h.created_at"),
        "h.created_at DESC, h.id DESC",
    )
    payments = _json_list(
        _json_array(
            "p.txn_date", "CAST(p.amount AS TEXT)", "CAST(p.credit_applied AS TEXT)", "p.currency", "p.method",
            "p.reference", "p.credit_memos",
        ),
        "p.txn_date, p.id",
    )  # fmt: skip
    return f"""
    SELECT {columns},
      (SELECT {deal_ids} FROM (
          SELECT deal_id FROM {{deal}} WHERE company_id = %(company)s AND invoice_id = i.id ORDER BY deal_id
      ) x) AS deal_ids,
      (SELECT {history} FROM (
          SELECT e.id, e.kind, e.message, e.data, e.actor_id, eu.name, eu.email, e.created_at FROM {{event}} e
          LEFT JOIN {{membership}} em ON em.id = e.actor_id LEFT JOIN {{user}} eu ON eu.id = em.user_id
          WHERE e.company_id = %(company)s AND e.invoice_id = i.id
          ORDER BY e.created_at DESC, e.id DESC LIMIT %(history)s
      ) h) AS history,
      (SELECT {payments} FROM (
          SELECT id, txn_date, amount, credit_applied, currency, method, reference, credit_memos FROM {{payment}}
          WHERE company_id = %(company)s AND invoice_id = i.id ORDER BY txn_date, id
      ) p) AS payments
    FROM (SELECT {columns} FROM {{invoice}} i {where}{fence}) i"""  # noqa: S608 (our names; values are parameters)


def _build(key: tuple) -> str:
    """The statement for `key`: (deal|contact, head|full[, has date_from, has date_to, customer given])."""
    what, part, *dates = key
    if what == "deal":
        where, extra_columns, extra_join = (
            _OF_DEAL,
            "w.won_state, w.won_problems, w.won_invoice",
            f"LEFT JOIN ({_WON}) w ON 1 = 1",
        )
        prefix = ""
    else:
        has_from, has_to, given = dates
        customer = "CAST(%(customer)s AS TEXT)" if given else _CUSTOMER  # given: named by Pipedrive
        where = (
            _OF_CUSTOMER.replace("{customer}", "SELECT customer FROM k")
            .replace("{date_from}", " AND i.txn_date >= %(date_from)s" if has_from else "")
            .replace("{date_to}", " AND i.txn_date <= %(date_to)s" if has_to else "")
        )
        # The customer's open balance and unapplied credit as last synced (invoices/credit.py).
        extra_columns = (
            "k.customer, CAST(b.open_balance AS TEXT) AS b_open, CAST(b.unapplied_credit AS TEXT) AS b_credit,"
            " b.currency AS b_currency"
        )
        extra_join = (
            "LEFT JOIN k ON 1 = 1 LEFT JOIN {balance} b ON b.company_id = %(company)s"
            " AND b.connection_id = %(connection)s AND b.customer_qbo_id = k.customer"
        )
        prefix = f"WITH k AS (SELECT ({customer}) AS customer) "  # read once, used twice
    if part == "head":
        sql = (
            f"{prefix}SELECT s.*, {extra_columns}, e.n, e.v, e.s FROM ({_SEAT}) s {extra_join}"  # noqa: S608
            f" CROSS JOIN ({_AGGREGATES.replace('{where}', where)}) e"
        )
    else:
        sql = (
            f"{prefix}SELECT s.*, {extra_columns}, inv.* FROM ({_SEAT}) s {extra_join}"  # noqa: S608
            f" LEFT JOIN ({_invoices(where)}) inv ON 1 = 1 ORDER BY inv.txn_date DESC, inv.id DESC"
        )
    for name, model in READ_MODELS.items():
        sql = sql.replace("{" + name + "}", model._meta.db_table)
    return sql


# Every table the statements read. Each has a trigger that tells the web processes when one of its
# rows changes (migration invoices 0010, invoices/panel_cache.py); tests hold the two lists equal.
READ_MODELS = {
    "membership": Membership,
    "user": User,
    "company": Company,
    "connection": QuickBooksConnection,
    "invoice": Invoice,
    "deal": InvoiceDeal,
    "event": InvoiceEvent,
    "payment": InvoicePayment,
    "won": WonDeal,
    "balance": CustomerBalance,
}


_STATEMENTS: dict[tuple, str] = {}

try:  # PostgreSQL: the hot statements are prepared once per database connection
    import psycopg

    class _PreparedCursor(psycopg.Cursor):
        """Server-side binding with prepare=True: PostgreSQL plans the statement once per
        connection (Django's own cursors bind client-side and never prepare)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

except ImportError:  # pragma: no cover (SQLite-only installs)
    _PreparedCursor = None  # type: ignore[misc,assignment]  # psycopg absent: no prepared cursor


def _cursor():
    """A cursor through Django's wrappers (error translation, query logging for tests), prepared on
    PostgreSQL."""
    if db.vendor != "postgresql" or _PreparedCursor is None:
        return db.cursor()
    # No CONN_HEALTH_CHECKS "SELECT 1" round trip first: _statement retries once on a fresh
    # connection instead, which is what that check is for (a connection that died between requests).
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        if db.connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (for poolers); prepare=True needs a threshold,
            # set beyond reach so that only our explicit prepares happen (Django's cursors bind
            # client-side and never prepare). Behind PgBouncer < 1.21 in transaction mode, set
            # DATABASE_URL's pool to session mode: prepared statements live in a server session.
            db.connection.prepare_threshold = 2**31 - 1
        raw = _PreparedCursor(db.connection)
    # Django wraps the raw DB-API cursor here; the stubs name the wrapper type as the argument.
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)  # type: ignore[arg-type]
