"""What the QuickBooks side tells the apps above it, without importing them (arrows point down)."""

from django.dispatch import Signal

# Sent after a connect or reconnect is stored, before the invoicing link is registered with Pipedrive.
# Keyword arguments: connection (QuickBooksConnection), company (Company), reconnected (bool).
# Receivers run in the connect request; they must not raise (the connect already succeeded).
connection_connected = Signal()
