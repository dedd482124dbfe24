"""The subset of QBO's SQL-like query language the sandbox understands (reference §2.5).

SELECT * | COUNT(*) | <props> FROM <Entity> [WHERE <prop> <op> <value> [AND ...]]
[ORDERBY <prop> [ASC|DESC][, ...]] [STARTPOSITION n] [MAXRESULTS n]
Operators: = < > <= >= IN LIKE ('%' only); no `!=`, no OR. Keywords and names are case-insensitive.
Only the properties Intuit's entity reference marks "filterable" / "sortable" may appear in WHERE /
ORDERBY (`FILTERABLE`, `SORTABLE` below; sources in README.md). MAXRESULTS is 1..1000 and
STARTPOSITION >= 1, a trailing `;` is a syntax error, and a projection returns only the named
properties.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from integration.sandbox.quickbooks import clock, faults, services
from integration.sandbox.quickbooks.models import SandboxRealm

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100

# Every entity's MetaData times are filterable and sortable (data-queries page examples).
_META = frozenset({"metadata.createtime", "metadata.lastupdatedtime"})


def _props(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names) | _META


# "filterable" / "sortable" as marked in Intuit's entity reference pages (README.md lists the sources).
FILTERABLE: dict[str, frozenset[str]] = {
    # TotalAmt: not marked in the Invoice page, but the real batch recording filters a SalesReceipt
    # (same SalesTransaction base) by it, and Payment marks it filterable: accepted (README).
    "Invoice": _props(
        "Id", "CustomerRef", "DocNumber", "ProjectRef", "TxnDate", "SalesTermRef", "DueDate", "Balance", "TotalAmt"
    ),
    "Payment": _props("Id", "TotalAmt", "CustomerRef", "TxnDate", "PaymentMethodRef", "PaymentRefNum"),
    "CreditMemo": _props("Id", "CustomerRef", "ProjectRef", "TxnDate", "SalesTermRef", "DocNumber", "Balance"),
    "Item": _props("Id", "Name", "Type", "Taxable", "Active", "FullyQualifiedName", "SubItem", "Sku"),
    "Customer": _props(
        "Id",
        "DisplayName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "CompanyName",
        "FullyQualifiedName",
        "PrintOnCheckName",
        "PrimaryEmailAddr",
        "Active",
        "Balance",
        "Job",
        "ParentRef",
    ),
    "Account": _props(
        "Id",
        "Name",
        "AccountType",
        "AccountSubType",
        "Classification",
        "Active",
        "FullyQualifiedName",
        "CurrentBalance",
        "SubAccount",
    ),
    "Term": _props("Id", "Name", "Active"),
    "TaxCode": _props("Id", "Name", "Active", "Description"),
    "TaxRate": _props("Id", "Name", "AgencyRef", "TaxReturnLineRef", "Active", "Description"),
    "CompanyCurrency": _props("Id", "Active", "Code"),
    "CompanyInfo": _props("Id"),
    "Preferences": _props("Id"),
}
SORTABLE: dict[str, frozenset[str]] = {
    "Invoice": _props("Id", "DocNumber", "TxnDate", "DueDate", "Balance", "TotalAmt"),
    "Payment": _props("Id", "TxnDate"),
    "CreditMemo": _props("Id", "TxnDate", "DocNumber", "Balance"),
    "Item": _props("Id", "Name", "Type", "UnitPrice", "PurchaseCost"),
    "Customer": _props(
        "Id", "DisplayName", "GivenName", "MiddleName", "FamilyName", "CompanyName", "FullyQualifiedName", "Balance"
    ),
    "Account": _props("Id", "Name", "FullyQualifiedName", "CurrentBalance"),
    "Term": _props("Id", "Name", "Active"),
    "TaxCode": _props("Id", "Name", "Description"),
    "TaxRate": _props("Id", "Name", "AgencyRef", "TaxReturnLineRef", "Active", "Description"),
    "CompanyCurrency": _props("Id", "Active"),
    "CompanyInfo": _props("Id"),
    "Preferences": _props("Id"),
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


@dataclass
class Condition:
    prop: str
    op: str
    values: list


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (prop, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS
    fields: list[str] = field(default_factory=list)  # a projection; empty means `*`


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            column = pos + 1
            raise faults.query_parse_error(
                f'Encountered " "{text[pos]}" "{text[pos]} "" at line 1, column {column}.\n'
                "Was expecting:\n    <IDENTIFIER> ...\n    "
            )
        kind = match.lastgroup or ""  # every alternative of _TOKEN is a named group
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise faults.query_parse_error('Encountered "<EOF>" at line 1.\nWas expecting:\n    <IDENTIFIER> ...\n    ')
        self.i += 1
        return token

    def expect_word(self, word: str) -> None:
        kind, value = self.take()
        if kind != "word" or value.upper() != word:
            raise faults.query_parse_error(
                f'Encountered " <IDENTIFIER> "{value} "" at line 1.\nWas expecting:\n    "{word}" ...\n    '
            )

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].upper() == word

    def value(self):
        kind, raw = self.take()
        if kind == "string":
            return raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        if kind == "number":
            return Decimal(raw)
        if kind == "word" and raw.lower() in {"true", "false"}:
            return raw.lower() == "true"
        if kind == "word" and raw.lower() == "null":
            return None
        raise faults.query_parse_error(f'Encountered " "{raw}" "{raw} "" at line 1.\nWas expecting a value.\n    ')

    def integer(self) -> int:
        kind, raw = self.take()
        if kind != "number" or "." in raw:
            raise faults.query_parse_error(
                f'Encountered " "{raw}" "{raw} "" at line 1.\nWas expecting:\n    <INTEGER> ...\n    '
            )
        return int(raw)

    def parse(self) -> Query:
        self.expect_word("SELECT")
        count = False
        projection: list[str] = []
        if self.is_word("COUNT"):
            self.take()
            for expected in ("(", "*", ")"):
                kind, raw = self.take()
                if raw != expected:
                    raise faults.query_parse_error(f'Encountered " "{raw}" "{raw} "" at line 1.\n')
            count = True
        else:
            # `*`, a projection list, or `*, Prop` (python-quickbooks' ListMixin sends `SELECT *, Sku`).
            star, fields = False, []
            while True:
                kind, raw = self.take()
                if kind == "punct" and raw == "*":
                    star = True
                elif kind == "word":
                    fields.append(raw)
                else:
                    raise faults.query_parse_error(f'Encountered " "{raw}" "{raw} "" at line 1.\n')
                if self.is_word("FROM"):
                    break
                kind, raw = self.take()
                if raw != ",":
                    raise faults.query_parse_error(
                        f'Encountered " <IDENTIFIER> "{raw} "" at line 1.\nWas expecting:\n    "FROM" ...\n    '
                    )
            projection = [] if star else fields
        self.expect_word("FROM")
        kind, entity = self.take()
        if kind != "word":
            raise faults.query_parse_error(
                f'Encountered " "{entity}" "{entity} "" at line 1.\nWas expecting:\n    <IDENTIFIER> ...\n    '
            )
        if entity.lower() == "null":
            # A reserved word, not an entity name: the parser fails before any entity lookup (4000).
            raise faults.query_parse_error(
                'Encountered " "null" "null "" at line 1, column 15.\nWas expecting:\n    <IDENTIFIER> ...\n    '
            )
        query = Query(entity=entity, count=count, fields=[] if count else projection)
        if self.is_word("WHERE"):
            self.take()
            while True:
                query.conditions.append(self.condition())
                if self.is_word("AND"):
                    self.take()
                    continue
                if self.is_word("OR"):
                    raise faults.query_parse_error('Encountered " "OR" "OR "" at line 1.\nWas expecting: <EOF>\n    ')
                break
        while self.peek() is not None:
            if self.is_word("ORDERBY") or self.is_word("ORDER"):
                if self.take()[1].upper() == "ORDER":
                    self.expect_word("BY")
                while True:
                    kind, prop = self.take()
                    if kind != "word":
                        raise faults.query_parse_error(f'Encountered " "{prop}" "{prop} "" at line 1.\n')
                    desc = False
                    if self.is_word("DESC") or self.is_word("ASC"):
                        desc = self.take()[1].upper() == "DESC"
                    query.order.append((prop, desc))
                    if self.peek() == ("punct", ","):
                        self.take()
                        continue
                    break
            elif self.is_word("STARTPOSITION"):
                self.take()
                query.start = self.integer()
                if query.start < 1:
                    raise faults.invalid_query(f"value {query.start} is too small. Min allowed value is 1")
            elif self.is_word("MAXRESULTS"):
                self.take()
                query.max_results = self.integer()
                if query.max_results > MAX_RESULTS:
                    raise faults.invalid_query(
                        f"value {query.max_results} is too large. Max allowed value is {MAX_RESULTS}"
                    )
                if query.max_results < 1:
                    raise faults.invalid_query(f"value {query.max_results} is too small. Min allowed value is 1")
            else:
                kind, raw = self.take()
                raise faults.query_parse_error(
                    f'Encountered " <IDENTIFIER> "{raw} "" at line 1.\nWas expecting:\n    <EOF> ...\n    '
                )
        return query

    def condition(self) -> Condition:
        kind, prop = self.take()
        if kind != "word":
            raise faults.query_parse_error(
                f'Encountered " "{prop}" "{prop} "" at line 1.\nWas expecting:\n    <IDENTIFIER> ...\n    '
            )
        token = self.take()
        if token[0] == "op":
            return Condition(prop, token[1], [self.value()])
        if token[0] == "word" and token[1].upper() == "IN":
            if self.take() != ("punct", "("):
                raise faults.query_parse_error("Encountered an unexpected token after IN at line 1.\n")
            values = [self.value()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.value())
            if self.take() != ("punct", ")"):
                raise faults.query_parse_error("Encountered an unexpected token in the IN list at line 1.\n")
            return Condition(prop, "IN", values)
        if token[0] == "word" and token[1].upper() == "LIKE":
            return Condition(prop, "LIKE", [self.value()])
        raise faults.query_parse_error(
            f'Encountered " "{token[1]}" "{token[1]} "" at line 1.\n'
            'Was expecting one of:\n    "=" ...\n    "IN" ...\n    '
        )


def parse(text: str) -> Query:
    return _Parser(text or "").parse()


def _resolve(obj: dict, path: str):
    """Case-insensitive dotted lookup; a Ref compares by its `value`. Returns (found, value)."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return False, None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return False, None
        current = current[key]
    if isinstance(current, dict) and "value" in current:
        current = current["value"]
    elif isinstance(current, dict) and "Address" in current:  # EmailAddress: PrimaryEmailAddr = '...'
        current = current["Address"]
    return True, current


def _comparable(left, right):
    """Coerce both sides to a common type: numbers, datetimes, booleans or case-folded text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower(), str(right).lower()
    if isinstance(left, (int, float, Decimal)) or isinstance(right, Decimal):
        try:
            return Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            return str(left).lower(), str(right).lower()
    if (
        isinstance(left, str)
        and isinstance(right, str)
        and re.match(r"\d{4}-\d{2}-\d{2}", left)
        and re.match(r"\d{4}-\d{2}-\d{2}", right)
    ):
        if len(left) == 10 and len(right) == 10:
            return left, right
        a, b = clock.parse_datetime(left), clock.parse_datetime(right)
        if a and b:
            return a, b
    return str(left).lower(), str(right).lower()


def _matches(obj: dict, cond: Condition) -> bool:
    found, actual = _resolve(obj, cond.prop)
    if not found or actual is None:
        return False
    if cond.op == "IN":
        return any(_equal(actual, v) for v in cond.values)
    if cond.op == "LIKE":
        pattern = "^" + ".*".join(re.escape(p) for p in str(cond.values[0]).split("%")) + "$"
        return re.match(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    if cond.op == "=":
        return _equal(actual, cond.values[0])
    a, b = _comparable(actual, cond.values[0])
    try:
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[cond.op]
    except TypeError:
        return False


def _equal(actual, wanted) -> bool:
    a, b = _comparable(actual, wanted)
    return a == b


def _sort_key(obj: dict, prop: str):
    found, value = _resolve(obj, prop)
    if not found or value is None:
        return (0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, Decimal(str(value)))
    text = str(value)
    if re.fullmatch(r"\d+", text):
        return (1, Decimal(text))
    return (2, text.lower())


def _project(obj: dict, fields: list[str]) -> dict:
    """Only the named properties (that have a value), plus what QBO always sends: Id, domain, sparse."""
    out = {}
    for name in fields:
        key = next((k for k in obj if k.lower() == name.split(".")[0].lower()), None)
        if key is not None:
            out[key] = obj[key]
    out.update({"domain": obj.get("domain", "QBO"), "sparse": True, "Id": obj.get("Id")})
    return out


def run(*, realm: SandboxRealm, text: str) -> dict:
    """Execute a query; the `QueryResponse` object (without the envelope's `time`)."""
    query = parse(text)
    spec = services.spec_for_name(query.entity)
    if spec is None:
        raise faults.invalid_query(f"invalid context declaration: {query.entity}")
    balances = services.customer_balances(realm) if spec.name == "Customer" else None
    objects = [services.present(realm, row, balances) for row in services.rows(realm=realm, entity=spec.name)]
    filterable = FILTERABLE.get(spec.name, _META)
    for cond in query.conditions:
        if cond.prop.lower() not in filterable:
            raise faults.invalid_query(f"property '{cond.prop}' is not queryable")
        if cond.prop.lower() == "id" and cond.op not in {"=", "IN"}:
            raise faults.invalid_query(f"operator '{cond.op}' is not supported for property 'Id'")
    sortable = SORTABLE.get(spec.name, _META)
    for prop, _desc in query.order:
        if prop.lower() not in sortable:
            raise faults.invalid_query(f"property '{prop}' is not sortable")
    known = {k.lower() for k in spec.known} | {k.lower() for o in objects for k in o} | {"id"}
    for name in query.fields:
        if name.split(".")[0].lower() not in known:
            raise faults.invalid_query(f"property '{name}' is not queryable")
    # Name lists answer active records only unless the query mentions Active.
    if spec.name in services.NAME_LISTS and not any(c.prop.lower() == "active" for c in query.conditions):
        objects = [o for o in objects if o.get("Active", True)]
    objects = [o for o in objects if all(_matches(o, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(objects)}
    for prop, desc in reversed(query.order):
        objects.sort(key=functools.partial(_sort_key, prop=prop), reverse=desc)
    if not query.order:
        objects.sort(key=lambda o: _sort_key(o, "Id"))
    page = objects[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    if query.fields:
        page = [_project(o, query.fields) for o in page]
    return {spec.name: page, "startPosition": query.start, "maxResults": len(page)}
