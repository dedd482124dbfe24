"""Pipedrive's invoicing app extension: the reverse API Pipedrive calls for its native invoice tab
(shared/reference/invoicing-extension.md). See README.md in this folder."""
