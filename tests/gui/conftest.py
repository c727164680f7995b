"""GUI test fixtures: a main window with its settings in tmp_path, closed and joined after."""

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _user_settings_in_tmp(tmp_path):
    """Windows made with default settings (gradstudio.show) write to tmp_path, not ~/.config."""
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "user-settings"))
    yield


@pytest.fixture()
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture()
def window(qtbot, settings):
    from gradstudio.gui.main_window import MainWindow

    from gradstudio.core.project import TrustStore

    win = MainWindow(settings=settings, trust=TrustStore(settings.fileName() + ".trust.json"))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.close()


def run_and_wait(qtbot, win, timeout=60_000):
    """Start a run and wait until its graph is laid out on screen."""
    with qtbot.waitSignal(win.graph_panel.sig_layout_ready, timeout=timeout):
        win.run()
