"""Managers for tenant-owned models: `objects` fails closed, `all_companies` is the bypass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import BaseUserManager
from django.db import models

from tenants.scoping import CompanyScopeError, current_company_or_none, is_unscoped

if TYPE_CHECKING:
    from tenants.models import User


class CompanyScopedManager(models.Manager):
    """Rows of the current company only; raises `CompanyScopeError` outside a scope."""

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        if is_unscoped():
            return queryset
        company = current_company_or_none()
        if company is None:
            name = self.model.__name__
            raise CompanyScopeError(
                f"{name}.objects was queried outside a company scope. Enter one with "
                f"tenants.scoping.company_scope(company), or, in support code only, use "
                f"{name}.all_companies / tenants.scoping.unscoped(reason=...)."
            )
        return queryset.filter(company=company)

    def create(self, **kwargs):
        company = current_company_or_none()
        given = kwargs["company"].pk if kwargs.get("company") is not None else kwargs.get("company_id")
        if company is not None and given is not None and given != company.pk and not is_unscoped():
            raise CompanyScopeError(f"refusing to create a {self.model.__name__} for another company")
        if company is not None and given is None and "company_id" not in kwargs:
            kwargs["company"] = company
        return super().create(**kwargs)


class UserManager(BaseUserManager["User"]):
    """Users sign in by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if not (extra["is_staff"] and extra["is_superuser"]):
            raise ValueError("A superuser needs is_staff and is_superuser")
        return self._create_user(email, password, **extra)
