"""Fail-closed company scoping.

Every tenant-owned model's `objects` manager filters by the company of the current scope and
raises `CompanyScopeError` when there is none. Scope is entered by:

- `CompanyScopeMiddleware` for HTML views (the signed-in member's company),
- `CompanyScopedApi.initial()` for DRF views (the authenticated principal's company),
- `@with_company_scope` on Celery tasks that take `company_id`,
- `company_scope(company)` where code has resolved the tenant itself (webhooks).

Support and admin code that must see every company says so with `unscoped(reason=...)` or the
`all_companies` manager; both are greppable and the former is logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tenants.models import Company

logger = logging.getLogger(__name__)

_current_company: ContextVar[Company | None] = ContextVar("current_company", default=None)
_unscoped_reason: ContextVar[str | None] = ContextVar("unscoped_reason", default=None)

F = TypeVar("F", bound=Callable[..., Any])


class CompanyScopeError(RuntimeError):
    """A tenant model was queried with no company scope active."""


def enter_company_scope(company: Company) -> Token:
    """Low-level: make `company` current until `exit_company_scope(token)`. Prefer company_scope()."""
    if company is None or company.pk is None:
        raise CompanyScopeError("a company scope needs a saved Company")
    return _current_company.set(company)


def exit_company_scope(token: Token) -> None:
    _current_company.reset(token)


@contextmanager
def company_scope(company: Company) -> Iterator[Company]:
    """Run the block with `company` as the only visible tenant."""
    token = enter_company_scope(company)
    try:
        yield company
    finally:
        exit_company_scope(token)


@contextmanager
def unscoped(*, reason: str) -> Iterator[None]:
    """UNSCOPED: see every company's rows. For support/admin code only; give a reason."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    logger.info("unscoped tenant access: %s", reason)
    token = _unscoped_reason.set(reason)
    try:
        yield
    finally:
        _unscoped_reason.reset(token)


def current_company() -> Company:
    """The company of the active scope; raises when there is none."""
    company = _current_company.get()
    if company is None:
        raise CompanyScopeError("no company scope is active")
    return company


def current_company_or_none() -> Company | None:
    return _current_company.get()


def is_unscoped() -> bool:
    return _unscoped_reason.get() is not None


def with_company_scope(func: F) -> F:
    """Decorate a task taking `company_id=`: loads the company and runs inside its scope."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tenants.models import Company

        company_id = kwargs.get("company_id")
        if company_id is None:
            raise CompanyScopeError(f"{func.__qualname__} must be called with company_id=")
        company = Company.objects.get(pk=company_id)
        with company_scope(company):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
