"""Where the reference payloads live inside the repository.

`tests/fixtures/quickbooks/` is a verbatim copy of shared/qbo-reference/fixtures (real QBO
responses and Intuit doc samples; see its README), kept in the repo so a fresh clone tests alone.
"""

import json
from pathlib import Path

QBO_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "quickbooks"


def qbo_fixture(name: str):
    return json.loads((QBO_FIXTURES / name).read_text())
