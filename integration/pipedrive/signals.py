"""What the Pipedrive side tells the rest of the app, without importing it."""

from django.dispatch import Signal

# Sent when the company's last Pipedrive installation is gone and the company is marked uninstalled.
# Keyword argument: company (Company). The QuickBooks app disconnects the company's connection.
company_uninstalled = Signal()
