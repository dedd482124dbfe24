"""The app as registered in the sandbox's "Developer Hub": its custom panel and custom modal.

Pipedrive keeps this configuration on its side: each custom UI extension has a name, an iframe URL
and an optional JWT secret (blank = the app's client secret signs its tokens), and Developer Hub
gives each custom modal an ID. The SDK's `OPEN_MODAL` with `type: custom_modal` names the modal by
that ID (or its name) in `action_id`; anything else is not a modal of this app, and the host
refuses to open it. Sources: integration/pipedrive/README.md, "Contract facts".

Test overrides (read with getattr, like the other PIPEDRIVE_SANDBOX_* settings):
- `PIPEDRIVE_SANDBOX_PANEL_URL` / `PIPEDRIVE_SANDBOX_MODAL_URL`: iframe URLs (default: our /panel/ pages);
- `PIPEDRIVE_SANDBOX_MODAL_ID`: the modal's ID (default `SANDBOX_MODAL_ID`);
- `PIPEDRIVE_SANDBOX_JWT_SECRET`: the "JWT secret" field of both extensions; unset = the value our
  settings hold (`PIPEDRIVE_JWT_SECRET`, as a correctly configured demo would have typed it), "" = left
  blank in Developer Hub, so Pipedrive signs with the client secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

# What Developer Hub would show for our modal; settings.PIPEDRIVE_MODAL_ID defaults to the same value
# when the sandboxes are on. The real ID's format is not documented (we assume an opaque string).
SANDBOX_MODAL_ID = "5c7e2a91-0b3d-4f6e-9a18-d24c6b8e0f37"
SANDBOX_MODAL_NAME = "Create invoice"  # Developer Hub: sentence case, at most 30 characters
SANDBOX_PANEL_ID = "3f9b4d20-7c1e-4a85-b6d2-81e05a9c4f63"
SANDBOX_PANEL_NAME = "QuickBooks invoices"
PANEL_PATH = "/panel/deal"
MODAL_PATH = "/panel/invoice-modal"


@dataclass(frozen=True)
class Extension:
    kind: str  # "panel" or "modal"
    id: str
    name: str
    url: str
    jwt_secret: str  # the Developer Hub field as typed; "" when left blank

    @property
    def signing_secret(self) -> str:
        """What Pipedrive signs this extension's tokens with: its JWT secret, else the client secret."""
        return self.jwt_secret or settings.PIPEDRIVE_CLIENT_SECRET


def _jwt_secret() -> str:
    value = getattr(settings, "PIPEDRIVE_SANDBOX_JWT_SECRET", None)
    return settings.PIPEDRIVE_JWT_SECRET if value is None else value


def panel() -> Extension:
    url = getattr(settings, "PIPEDRIVE_SANDBOX_PANEL_URL", "") or f"{settings.PUBLIC_BASE_URL}{PANEL_PATH}"
    return Extension("panel", SANDBOX_PANEL_ID, SANDBOX_PANEL_NAME, url, _jwt_secret())


def modal() -> Extension:
    url = getattr(settings, "PIPEDRIVE_SANDBOX_MODAL_URL", "") or f"{settings.PUBLIC_BASE_URL}{MODAL_PATH}"
    modal_id = getattr(settings, "PIPEDRIVE_SANDBOX_MODAL_ID", "") or SANDBOX_MODAL_ID
    return Extension("modal", modal_id, SANDBOX_MODAL_NAME, url, _jwt_secret())


def extension(kind: str) -> Extension:
    return modal() if kind == "modal" else panel()


def modal_for(action_id) -> Extension | None:
    """The registered custom modal `action_id` names (its ID or its name, as the SDK README and the
    custom modals page allow), or None."""
    registered = modal()
    if isinstance(action_id, str) and action_id and action_id in (registered.id, registered.name):
        return registered
    return None
