"""Shared test set-up: headless Qt, and nothing written outside tmp_path."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest


@pytest.fixture(autouse=True)
def _runs_database_in_tmp(tmp_path, monkeypatch):
    """Training in tests stores its runs in tmp_path, never in the user's data directory."""
    monkeypatch.setenv("GRADSTUDIO_RUNS_DB", str(tmp_path / "runs.sqlite"))
