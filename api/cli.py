"""The `gradstudio` command: the app, or `gradstudio train project.gradstudio` in a terminal
(no Qt imported: it runs on servers and under torchrun)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        from gradstudio.core.training.headless import main as train

        return train(argv[1:])
    from gradstudio.gui.app import main as app

    return app(argv)


if __name__ == "__main__":
    sys.exit(main())
