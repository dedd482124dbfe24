"""Create the QuickBooks sandbox's seed companies (idempotent); `--reset` wipes its state first."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.sandbox.quickbooks import seed


class Command(BaseCommand):
    help = "Seed the QuickBooks sandbox: a US company (USD, sales tax) and a UK company (GBP, VAT, multicurrency)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete all sandbox state before seeding")

    def handle(self, *args, **options):
        if not settings.SANDBOXES_ENABLED:
            raise CommandError("the sandboxes are disabled (SANDBOXES_ENABLED=false)")
        realms = seed.reset() if options["reset"] else seed.seed()
        for realm in realms:
            self.stdout.write(f"QuickBooks sandbox company {realm.realm_id}: {realm.name}")
