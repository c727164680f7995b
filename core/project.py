"""Project files (`.gradstudio`, JSON): the builder's model, scripts, input shape, training
settings. Saving is atomic; loading checks every field and names the first bad one by its
path (`model.children[3].out_features: expected a positive integer`).

A project can carry Python code (its scripts). Loading never runs it: whether to trust a
file is the caller's decision, remembered per content hash by `TrustStore`.

File format, version 1::

    {
      "format": "gradstudio-project", "version": 1,
      "model": <module spec> | null,        # see gradstudio.core.builder.ModuleSpec.to_dict
      "input_shape": [N, ...] | null,       # positive integers
      "scripts": [{"name": "main.py", "source": "..."}],
      "training": {...}                     # settings, an object (free-form for now)
    }
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .builder import ModuleSpec, SpecError
from .export import write_atomic

FORMAT = "gradstudio-project"
VERSION = 1
SUFFIX = ".gradstudio"


class ProjectError(ValueError):
    """A project file is unreadable or a field is wrong; `path` names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass
class Script:
    name: str
    source: str


@dataclass
class Project:
    model: ModuleSpec | None = None
    input_shape: tuple | None = None
    scripts: list[Script] = field(default_factory=list)
    training: dict = field(default_factory=dict)

    @property
    def has_code(self) -> bool:
        return any(s.source.strip() for s in self.scripts)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model.to_dict() if self.model else None,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "scripts": [{"name": s.name, "source": s.source} for s in self.scripts],
            "training": dict(self.training),
        }


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file beside `path`, then a rename."""
    write_atomic(path, json.dumps(project.to_dict(), indent=2, ensure_ascii=False) + "\n")


def load_project(path: str | os.PathLike) -> Project:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError("", f"cannot read {path}: {exc}") from exc
    return parse_project(text)


def parse_project(text: str) -> Project:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError("", f"not a project file: invalid JSON at line {exc.lineno}, column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise ProjectError("", "not a project file: expected a JSON object")
    if data.get("format") != FORMAT:
        raise ProjectError("format", f"expected {FORMAT!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectError("version", "expected an integer")
    if version > VERSION:
        raise ProjectError("version", f"written by a newer gradstudio (version {version}; this one reads {VERSION})")
    unknown = set(data) - {"format", "version", "model", "input_shape", "scripts", "training"}
    if unknown:
        raise ProjectError(sorted(unknown)[0], "unknown field")
    model = None
    if data.get("model") is not None:
        try:
            model = ModuleSpec.from_dict(data["model"], "model")
        except SpecError as exc:
            raise ProjectError(exc.path, exc.message) from exc
    return Project(model, _input_shape(data.get("input_shape")), _scripts(data.get("scripts", [])),
                   _training(data.get("training", {})))


def _input_shape(value):
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ProjectError("input_shape", "expected a list of positive integers")
    for i, d in enumerate(value):
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ProjectError(f"input_shape[{i}]", "expected a positive integer")
    return tuple(value)


def _scripts(value) -> list[Script]:
    if not isinstance(value, list):
        raise ProjectError("scripts", "expected a list of scripts")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ProjectError(f"scripts[{i}]", "expected an object with 'name' and 'source'")
        for key in ("name", "source"):
            if not isinstance(item.get(key), str):
                raise ProjectError(f"scripts[{i}].{key}", "expected text")
        out.append(Script(item["name"], item["source"]))
    return out


def _training(value) -> dict:
    if not isinstance(value, dict):
        raise ProjectError("training", "expected an object of settings")
    return dict(value)


def content_hash(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class TrustStore:
    """Remembers which project contents the user agreed to run code from (by SHA-256), so
    changing a file asks again. Kept in a small JSON file in the user's data directory."""

    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            from platformdirs import user_data_dir

            path = Path(user_data_dir("gradstudio", appauthor=False)) / "trusted-projects.json"
        self.path = Path(path)

    def _load(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {h for h in data.get("sha256", []) if isinstance(h, str)}
        except (OSError, ValueError, AttributeError):
            return set()  # missing or damaged: trust nothing, never crash

    def is_trusted(self, digest: str) -> bool:
        return digest in self._load()

    def trust(self, digest: str) -> None:
        hashes = self._load() | {digest}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"sha256": sorted(hashes)}, indent=1))
