"""Seed the embedded demo: a company with Alice (admin) and Bob, and a support login with TOTP.

Idempotent: running it again changes nothing that exists. Refuses to run in production.
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants.models import User
from tenants.services import company_upsert, membership_upsert

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (demo only; refused in production)
SUPPORT_EMAIL = "support@example.com"
# Base32 TOTP secret of the demo support account: add it to an authenticator app, or run
# `python manage.py demo_totp_code`.
SUPPORT_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 (demo only)


class Command(BaseCommand):
    help = "Create the demo company, users and the support login (development only)."

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates known passwords and never runs in production")
        company = company_upsert(pipedrive_company_id=1001, name="Acme Robotics (demo)", domain="acme-demo")
        for email, name, pipedrive_user_id, is_admin in [
            ("alice@acme.test", "Alice Admin", 11, True),
            ("bob@acme.test", "Bob Member", 12, False),
        ]:
            membership = membership_upsert(
                company=company, email=email, name=name, pipedrive_user_id=pipedrive_user_id, is_admin=is_admin
            )
            if not membership.user.has_usable_password():
                membership.user.set_password(DEMO_PASSWORD)
                membership.user.save(update_fields=["password"])

        support_group, _ = Group.objects.get_or_create(name="support")
        # The support group views everything and runs the safe support actions; disconnect and
        # delete stay with superusers (invoices/support.py).
        support_group.permissions.set(
            Permission.objects.filter(codename__startswith="view_")
            | Permission.objects.filter(content_type__app_label="tenants", codename="run_support_actions")
        )
        support, created = User.objects.get_or_create(
            email=SUPPORT_EMAIL, defaults={"name": "Support (demo)", "is_staff": True}
        )
        if created:
            support.set_password(DEMO_PASSWORD)
            support.save()
        support.groups.add(support_group)
        if not Authenticator.objects.filter(user=support, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(support, SUPPORT_TOTP_SECRET)
        if settings.SANDBOXES_ENABLED:  # the QuickBooks sandbox's demo companies (idempotent)
            call_command("seed_qbo_sandbox", stdout=self.stdout)
            call_command("seed_pipedrive_sandbox", stdout=self.stdout)

        self.stdout.write(
            self.style.SUCCESS(
                f"demo ready: alice@acme.test / bob@acme.test / {SUPPORT_EMAIL} with password {DEMO_PASSWORD!r}; "
                "support needs a TOTP code: `python manage.py demo_totp_code`"
            )
        )
