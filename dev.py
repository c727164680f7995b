#!/usr/bin/env python3
"""Set up a local virtual environment and launch gradstudio or run its tests.

    python3 dev.py app [args...]    # install into .venv (first time) and launch the app
    python3 dev.py test [args...]   # install into .venv with test tools, run the tests

The environment is reused: a second call skips installing unless pyproject.toml changed.
Set PIP_CONSTRAINT to pin packages (CI pins the CPU build of torch that way).
Only the standard library is used here, so any Python 3.10+ can run it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("GRADSTUDIO_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _stamp(extras: str) -> str:
    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    h.update(extras.encode())
    constraint = os.environ.get("PIP_CONSTRAINT", "")
    h.update(constraint.encode())
    if constraint and Path(constraint).is_file():  # a changed pin reinstalls too
        h.update(Path(constraint).read_bytes())
    return h.hexdigest()


def ensure_env(extras: str = "") -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"gradstudio needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # one stamp per extras; the test install (a superset) also satisfies the app
    satisfied_by = [extras] if extras else ["", "test"]
    for have in satisfied_by:
        stamp = VENV / f".gradstudio-installed-{have or 'app'}"
        if stamp.exists() and stamp.read_text() == _stamp(have):
            return
    stamp_file = VENV / f".gradstudio-installed-{extras or 'app'}"
    want = _stamp(extras)
    target = f".[{extras}]" if extras else "."
    print(f"installing gradstudio{'[' + extras + ']' if extras else ''} into {VENV} (first run takes a few minutes)", flush=True)
    run([PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target])
    stamp_file.write_text(want)


def run(cmd, **kw) -> None:
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)
    if code:
        sys.exit(code)


def lint_imports(env: dict) -> None:
    """Check the import contracts in pyproject.toml (core never imports Qt).

    import-linter reads packages from one folder tree, but ours maps several top-level
    folders into one namespace; so it reads a throwaway copy laid out as installed.
    """
    import shutil
    import tempfile

    print("checking import contracts (lint-imports)", flush=True)
    with tempfile.TemporaryDirectory(prefix="gradstudio-lint-") as tmp:
        pkg = Path(tmp) / "gradstudio"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / "api", pkg, ignore=ignore)
        for folder in ("core", "gui", "assets"):
            shutil.copytree(ROOT / folder, pkg / folder, ignore=ignore)
        lint_env = dict(env, PYTHONPATH=os.pathsep.join([tmp, env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        run([BIN / "lint-imports", "--no-cache", "--config", ROOT / "pyproject.toml"], env=lint_env)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("app", "test"):
        sys.exit(__doc__)
    what, rest = argv[0], argv[1:]
    if what == "app":
        ensure_env()
        run([PYTHON, "-m", "gradstudio.gui", *rest])
    else:
        ensure_env("test")
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        lint_imports(env)
        run([PYTHON, "-m", "pytest", *rest], env=env)


if __name__ == "__main__":
    main(sys.argv[1:])
