"""Lecture mode: lessons with explanations, presenter keys, auto-play, a laser pointer, figures for slides.

    from gradstudio.gui.lecture import LectureController
    window.lecture = LectureController(window)  # dock, Lecture menu, presenter keys
"""

from .controller import LectureController
from .playback_export import PlaybackCancelled, export_playback

__all__ = ["LectureController", "PlaybackCancelled", "export_playback"]
