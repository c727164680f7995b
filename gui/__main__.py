"""`python -m gradstudio.gui` starts the app."""

import sys

from .app import main

if __name__ == "__main__":  # DataLoader workers (spawned) import this module again: they must not start an app
    sys.exit(main())
