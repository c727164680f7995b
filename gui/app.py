"""Start the app: `gradstudio [script.py] [--screenshot out.png --step N|end --size WxH]`.

Without a script it opens the seed's Power example, already recorded and ready to step.
`--screenshot` renders the main window offscreen to a PNG and exits: non-zero, with the
error on stderr, if the script fails.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gradstudio", description="Watch PyTorch's autograd graph being built.")
    p.add_argument("script", nargs="?",
                   help="a Python script to open and record, or a .gradstudio project (default: the Power example)")
    p.add_argument("--lesson", help="open a built-in lesson by key (e.g. 03_submodules)")
    p.add_argument("--screenshot", metavar="PNG", help="render the window to this PNG offscreen and exit")
    p.add_argument("--step", default="end", help="event to show: a number, 'end' or 'forward-end' (default end)")
    p.add_argument("--size", default="1600x1000", help="window size for --screenshot, WIDTHxHEIGHT")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme")
    p.add_argument("--presentation", action="store_true", help="start in presentation mode")
    p.add_argument("--select", metavar="LABEL", help="select the first node with this label (screenshots)")
    args = p.parse_args(argv)
    if args.step not in ("end", "forward-end"):
        try:
            args.step = int(args.step)
        except ValueError:
            p.error(f"--step must be a number, 'end' or 'forward-end', not {args.step!r}")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        args.size = (w, h)
    except ValueError:
        p.error(f"--size must look like 1600x1000, not {args.size!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("GRADSTUDIO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display needed

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gradstudio.assets.lessons import lesson

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("gradstudio")
    app.setApplicationName("gradstudio")
    settings = None
    if args.screenshot:  # a screenshot never reads or changes the user's settings
        settings = QSettings(os.path.join(tempfile.mkdtemp(), "settings.ini"), QSettings.IniFormat)
    window = MainWindow(settings=settings)
    if args.theme:
        window.set_theme(args.theme)

    if args.script:
        if not os.path.isfile(args.script):
            print(f"gradstudio: no such file: {args.script}", file=sys.stderr)
            return 2
        if args.script.endswith(".gradstudio"):
            if args.screenshot:
                print("gradstudio: --screenshot takes a script, not a project", file=sys.stderr)
                return 2
            window.show()
            window.projects.open(args.script)  # asks before running the project's code
            return app.exec()
        window.open_path(args.script, run=False)
    elif args.lesson:
        try:
            window.open_lesson(lesson(args.lesson), run=False)
        except KeyError as exc:
            print(f"gradstudio: {exc.args[0]}", file=sys.stderr)
            return 2
    else:
        window.open_lesson(lesson("02_power"), run=False)

    if args.screenshot:
        return _screenshot(app, window, args)
    window.show()
    if args.presentation:
        window.set_presentation(True)
    if args.script:  # a file that only defines models: offer to build one (File › Open model)
        def first_run(result) -> None:
            window.runs.sig_finished.disconnect(first_run)
            _offer_model(window, args.script, result)

        window.runs.sig_finished.connect(first_run)
    window.run(step=args.step)
    return app.exec()


def _offer_model(window, path: str, result) -> None:
    from gradstudio.core.model_files import find_models

    if result.ok and result.notice:
        try:
            found = find_models(window.session.source)
        except SyntaxError:
            found = []
        if found:
            window.models.open(path, window)


def _screenshot(app, window, args) -> int:
    from PySide6.QtCore import QTimer

    outcome = {"code": 3}
    window.resize(*args.size)
    window.show()
    if args.presentation:
        window.set_presentation(True)
        window.showNormal()
        window.resize(*args.size)

    def on_finished(result) -> None:
        if not result.ok:
            print(f"gradstudio: {args.script or 'script'}: {result.error}", file=sys.stderr)
            if result.error.traceback:
                print(result.error.traceback, file=sys.stderr)
            outcome["code"] = 1
            app.quit()
        elif result.notice:
            print(f"gradstudio: {result.notice}", file=sys.stderr)
            outcome["code"] = 1
            app.quit()

    def on_layout_ready(*_) -> None:
        if args.presentation:
            window._fit_docks()
        if args.select:
            hit = next((n.id for n in window.session.graph.nodes.values() if n.label == args.select), None)
            window.session.select(hit)
        QTimer.singleShot(150, grab)

    def grab() -> None:
        app.processEvents()
        if window.grab().save(args.screenshot):
            outcome["code"] = 0
        else:
            print(f"gradstudio: could not write {args.screenshot}", file=sys.stderr)
            outcome["code"] = 1
        app.quit()

    window.runs.sig_finished.connect(on_finished)
    window.graph_panel.sig_layout_ready.connect(on_layout_ready)
    QTimer.singleShot(120_000, lambda: (print("gradstudio: timed out", file=sys.stderr), app.quit()))
    window.run(step=args.step)
    app.exec()
    window.close()
    return outcome["code"]


if __name__ == "__main__":
    sys.exit(main())
