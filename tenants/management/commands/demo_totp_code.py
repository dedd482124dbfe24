"""Print the current TOTP code of the demo support account (development only)."""

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.management.commands.seed_demo import SUPPORT_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current TOTP code for support@example.com in the demo."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_totp_code is for the demo only")
        counter = int(time.time()) // app_settings.TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(SUPPORT_TOTP_SECRET, counter)))
