"""The apps' layering (README "Code layout") as import contracts: `lint-imports` with the contracts of
pyproject.toml [tool.importlinter]. It also runs in `make lint` and .ci/run; here so `make test` fails too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "invoices", "integration", "tenants")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (our own tool, fixed arguments)
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_apps_keep_their_layers():
    answer = lint_imports(ROOT)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "0 broken" in answer.stdout


def copy_of_the_product(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc", "static"))
    return tmp_path


def test_an_upward_import_breaks_the_check(tmp_path):
    """tenants importing invoices (even lazily, inside a function) is caught, naming the contract."""
    copy = copy_of_the_product(tmp_path)
    with (copy / "tenants" / "selectors.py").open("a") as module:
        module.write("\n\ndef planted():\n    from invoices.models import Invoice\n\n    return Invoice\n")
    answer = lint_imports(copy)
    assert answer.returncode == 1, answer.stdout
    assert "Apps are layered: config > invoices > integration > tenants BROKEN" in answer.stdout
    assert "tenants.selectors -> invoices.models" in answer.stdout


def test_a_quickbooks_import_in_the_pipedrive_side_breaks_the_check(tmp_path):
    copy = copy_of_the_product(tmp_path)
    with (copy / "integration" / "pipedrive" / "services.py").open("a") as module:
        module.write("\n\nfrom integration.quickbooks.models import QuickBooksConnection  # noqa\n")
    answer = lint_imports(copy)
    assert answer.returncode == 1, answer.stdout
    assert "the QuickBooks side may use the Pipedrive side, never the" in answer.stdout
    assert "integration.pipedrive.services -> integration.quickbooks.models" in answer.stdout
