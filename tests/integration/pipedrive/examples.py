"""Pipedrive's example payloads, copied unchanged from shared/pipedrive-reference/examples/
(provenance in that folder's README) so the tests do not depend on a checkout next to ours."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def example(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())
