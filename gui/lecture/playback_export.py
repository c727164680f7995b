"""A playback of the tape as an animated GIF or a numbered PNG sequence, for slides.

Frames are rendered from a private copy of the scene, so the graph on screen does not move
while they are made. A graph that fits is framed whole and the same way in every frame
(nodes appear in place, nothing jumps); a big one is followed at a readable zoom. Each
frame carries a caption saying which step it shows, which also keeps consecutive frames
distinct in the GIF. A `progress(done, total)` callback may return False
to cancel; the caller can also pump the event loop from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from ..graph_view.export import CAPTION_SHARE, render_frame
from ..graph_view.scene import GraphScene
from ..panels.timeline.model import event_text

FORMATS = ("gif", "png")
MIN_SIDE, MAX_SIDE = 64, 4096
READABLE_FRAME = 0.9  # pixels per scene point below which a frame follows the node instead


class PlaybackCancelled(Exception):
    """The progress callback asked to stop; nothing was left behind."""


def export_playback(window_or_graph_panel, steps: range, path: str | Path, fmt: str = "gif",
                    size: tuple[int, int] = (1280, 720), seconds_per_frame: float = 0.6,
                    progress: Callable[[int, int], bool | None] | None = None) -> list[Path] | Path:
    """Render `steps` of the tape on screen and write them.

    Returns the GIF's path (fmt "gif"), or the PNG files written into the folder `path`
    (fmt "png", `frame_0001.png`, ...). Raises ValueError naming the bad argument, and
    PlaybackCancelled when `progress` returns False.
    """
    panel = getattr(window_or_graph_panel, "graph_panel", window_or_graph_panel)
    scene, session = panel.scene, panel.session
    if scene is None or session.tape is None:
        raise ValueError("nothing to export yet: run a script first")
    _check(steps, session.n_events, fmt, size, seconds_per_frame)
    frames = _Frames(panel, scene, session.tape, size)
    path = Path(path)
    if fmt == "png":
        return _write_pngs(frames, steps, path, progress)
    return _write_gif(frames, steps, path, seconds_per_frame, progress)


def _check(steps: range, n_events: int, fmt: str, size, seconds: float) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if len(steps) == 0:
        raise ValueError("steps: no step to export (the range is empty)")
    bad = [k for k in (steps[0], steps[-1]) if not 0 <= k < n_events]
    if bad:
        raise ValueError(f"steps: step {bad[0]} is outside the tape (steps 0 to {n_events - 1})")
    w, h = size
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ValueError(f"size: {w}×{h} pixels; each side must be {MIN_SIDE} to {MAX_SIDE}")
    if not 0.02 <= seconds <= 60:
        raise ValueError(f"seconds_per_frame: {seconds} is outside 0.02 to 60 seconds")


class _Frames:
    """Renders step k into an image from a copy of the on-screen scene.

    A graph that fits the frame readably is shown whole in every frame. A bigger one is
    shown at a readable zoom, the camera following the step's node (and staying put on
    steps that have none), so its labels can still be read on a slide."""

    def __init__(self, panel, scene: GraphScene, tape, size: tuple[int, int]):
        self.scene = GraphScene(scene.plan, theme=panel.theme, fonts=panel.fonts)
        self.tape = tape
        self.size = size
        self.whole = scene.sceneRect()
        w, h = size
        room_h = h * (1 - CAPTION_SHARE)
        fit = min(w / max(self.whole.width(), 1.0), room_h / max(self.whole.height(), 1.0))
        self.follow = fit < READABLE_FRAME
        self.window = QRectF(0, 0, w / READABLE_FRAME, room_h / READABLE_FRAME)
        self.window.moveCenter(self.whole.center())

    def image(self, k: int) -> QImage:
        self.scene.set_step(k)
        n = len(self.tape.events)
        caption = f"step {k + 1} of {n} — {event_text(self.tape, self.tape.events[k])}"
        return render_frame(self.scene, self.size, self._source(), caption)

    def _source(self) -> QRectF:
        if not self.follow:
            return self.whole
        ids = self.scene.current_nodes()
        node = self.scene.node_for(ids[-1]) if ids else None
        if node is not None:
            self.window.moveCenter(node.mapRectToScene(node.rect).center())
        r, whole = self.window, self.whole  # keep inside the graph where it can
        dx = max(whole.left() - r.left(), 0) + min(whole.right() - r.right(), 0) if r.width() < whole.width() else 0
        dy = max(whole.top() - r.top(), 0) + min(whole.bottom() - r.bottom(), 0) if r.height() < whole.height() else 0
        self.window.translate(dx, dy)
        return QRectF(self.window)


def _report(progress, done: int, total: int) -> None:
    if progress is not None and progress(done, total) is False:
        raise PlaybackCancelled("export cancelled")


def _write_pngs(frames: _Frames, steps: range, folder: Path, progress) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for i, k in enumerate(steps):
            _report(progress, i, len(steps))
            out = folder / f"frame_{i + 1:04d}.png"
            if not frames.image(k).save(str(out)):
                raise OSError(f"could not write {out}")
            written.append(out)
        _report(progress, len(steps), len(steps))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return written


def _write_gif(frames: _Frames, steps: range, path: Path, seconds: float, progress) -> Path:
    images: list[Image.Image] = []
    for i, k in enumerate(steps):
        _report(progress, i, len(steps))
        images.append(_to_pil(frames.image(k)).quantize(colors=255))  # GIF: 256 colours a frame
    _report(progress, len(steps), len(steps))
    first, rest = images[0], images[1:]
    try:
        first.save(path, format="GIF", save_all=True, append_images=rest, duration=round(seconds * 1000), loop=0)
    except OSError as exc:
        raise OSError(f"could not write {path}: {exc}") from exc
    return path


def _to_pil(image: QImage) -> Image.Image:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = rgb.width(), rgb.height()
    data = bytes(rgb.constBits())[: rgb.bytesPerLine() * h]
    return Image.frombuffer("RGB", (w, h), data, "raw", "RGB", rgb.bytesPerLine(), 1)
