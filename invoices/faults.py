"""Named steps of the create's state machine, where tests inject faults."""

from __future__ import annotations

import os

from django.conf import settings


def step(name: str) -> None:
    """In-process tests replace this function; process-kill tests and `make chaos` set
    INVOICE_FAULT="<step>:<file>" and the process dies (exit 137, like kill -9) at that step while
    the file exists (once: the file is removed). Honoured only where the sandboxes are (never in
    production)."""
    spec = os.environ.get("INVOICE_FAULT", "")
    if not spec or not settings.SANDBOXES_ENABLED:
        return
    wanted, _sep, marker = spec.partition(":")
    if name == wanted and marker and os.path.exists(marker):
        os.remove(marker)
        os._exit(137)
