"""Shared test set-up: headless Qt, and nothing written outside tmp_path."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
