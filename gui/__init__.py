"""The gradstudio desktop app (PySide6 + pyqtgraph): thin widgets over `gradstudio.core`."""
