"""Shared test set-up: headless Qt, and nothing written outside tmp_path."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest


@pytest.fixture(autouse=True)
def _runs_database_in_tmp(tmp_path, monkeypatch):
    """Training in tests stores its runs in tmp_path, never in the user's data directory."""
    monkeypatch.setenv("GRADSTUDIO_RUNS_DB", str(tmp_path / "runs.sqlite"))


@pytest.fixture(autouse=True)
def _training_on_a_thread(monkeypatch):
    """The app trains in a separate process; starting one costs seconds of torch import, so
    tests train on a thread of their own process unless they ask for the process (the data
    that reaches the widgets is the same: tests/core/test_training_process.py and the
    tests marked with both modes check that)."""
    monkeypatch.setenv("GRADSTUDIO_TRAINING", "thread")
