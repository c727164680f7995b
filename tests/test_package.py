"""The package: core imports without Qt, and the boundary contract exists."""

import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_without_qt():
    code = (
        "import sys, gradstudio.core, gradstudio.core.examples, gradstudio.core.demo;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')"
        " or m.startswith('gradstudio.gui'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contract_forbids_qt_in_core():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    core = [c for c in contracts if c["source_modules"] == ["gradstudio.core"]]
    assert core and {"PySide6", "pyqtgraph", "gradstudio.gui"} <= set(core[0]["forbidden_modules"])


def test_core_demo_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "gradstudio.core.demo"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "PowBackward0" in result.stdout and "inp.grad filled" in result.stdout


def test_every_package_folder_is_listed_for_wheels():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    mapping = {"core": "gradstudio.core", "gui": "gradstudio.gui", "assets": "gradstudio.assets"}
    found = {"gradstudio"}
    for folder, name in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found == listed, f"missing: {found - listed}, stale: {listed - found}"
