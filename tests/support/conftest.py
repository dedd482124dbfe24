"""Staff sign in the way they do in production: allauth password, then a TOTP code."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401
from tests.test_admin import PASSWORD, current_code


@dataclass
class Staff:
    user: object
    secret: str

    def login(self) -> Client:
        """A fresh client signed in through allauth with this staff member's TOTP code."""
        client = Client()
        response = client.post("/accounts/login/", {"login": self.user.email, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/authenticate/")
        response = client.post("/accounts/2fa/authenticate/", {"code": current_code(self.secret)})
        assert response.status_code == 302, response.content[:500]
        assert client.get("/admin/").status_code == 200
        return client


def support_group() -> Group:
    """The "support" group as seed_demo makes it: view everything, run the safe actions."""
    group, _ = Group.objects.get_or_create(name="support")
    group.permissions.set(
        Permission.objects.filter(codename__startswith="view_")
        | Permission.objects.filter(content_type__app_label="tenants", codename="run_support_actions")
    )
    return group


def make_staff(email: str, *, superuser: bool = False, group: Group | None = None) -> Staff:
    user = UserFactory(email=email, is_staff=True, is_superuser=superuser)
    if group is not None:
        user.groups.add(group)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return Staff(user=user, secret=secret)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # allauth remembers used TOTP codes; ids repeat across rolled-back tests
    yield


@pytest.fixture
def support(db) -> Staff:
    return make_staff("support@ops.test", group=support_group())


@pytest.fixture
def superuser(db) -> Staff:
    return make_staff("root@ops.test", superuser=True)


@pytest.fixture
def support_client(support) -> Client:
    return support.login()


@pytest.fixture
def superuser_client(superuser) -> Client:
    return superuser.login()
