"""Where the run database lives: the user's data directory, unless they chose another file."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GRADSTUDIO_RUNS_DB"


def default_store_path() -> Path:
    """$GRADSTUDIO_RUNS_DB if set, else `runs.sqlite` in the platform's user data directory."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("gradstudio", appauthor=False)) / "runs.sqlite"
