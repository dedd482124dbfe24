"""Seed (or refresh) the Pipedrive sandbox's demo companies. Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.sandbox.pipedrive.seed import seed


class Command(BaseCommand):
    help = "Create or refresh the Pipedrive sandbox demo data (companies 1001 and 2002)."

    def handle(self, *args, **options):
        if not settings.SANDBOXES_ENABLED:
            raise CommandError("the sandboxes are disabled (SANDBOXES_ENABLED=false)")
        companies = seed()
        names = ", ".join(f"{c.name} [{c.domain}]" for c in companies)
        self.stdout.write(self.style.SUCCESS(f"Pipedrive sandbox seeded: {names}"))
