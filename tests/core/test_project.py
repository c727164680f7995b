"""Project files: round trip, atomic saves, and malformed files rejected by field path."""

import json
import os

import pytest

from gradstudio.core import project as proj
from gradstudio.core.builder import ModuleSpec as M
from gradstudio.core.project import Project, ProjectError, Script, TrustStore


def sample() -> Project:
    model = M.of("Sequential", M.of("Linear", in_features=4, out_features=8), M.of("ReLU"),
                 M.of("Linear", in_features=8, out_features=2))
    return Project(model, (16, 4), [Script("main.py", "print('hi')\n")], {"optimizer": "SGD", "lr": 0.1})


def test_round_trip(tmp_path):
    path = tmp_path / "net.gradstudio"
    proj.save_project(sample(), path)
    again = proj.load_project(path)
    assert again == sample()
    assert again.has_code
    assert json.loads(path.read_text())["format"] == "gradstudio-project"


def test_a_crash_while_saving_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "net.gradstudio"
    proj.save_project(sample(), path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    changed = sample()
    changed.input_shape = (1, 4)
    with pytest.raises(OSError):
        proj.save_project(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.gradstudio"]  # no temporary file left


def good() -> dict:
    return sample().to_dict()


def edit(fn):
    data = good()
    fn(data)
    return json.dumps(data)


MALFORMED = [
    ("{not json", "", "invalid JSON"),
    ("[1, 2]", "", "JSON object"),
    (edit(lambda d: d.update(format="something-else")), "format", "gradstudio-project"),
    (edit(lambda d: d.update(version="1")), "version", "integer"),
    (edit(lambda d: d.update(version=99)), "version", "newer"),
    (edit(lambda d: d.update(extra=1)), "extra", "unknown field"),
    (edit(lambda d: d["model"]["children"][2]["args"].update(out_features=0)), "model.children[2].out_features",
     "positive integer"),
    (edit(lambda d: d["model"]["children"][1].update(kind="Relu")), "model.children[1].kind", "unknown module"),
    (edit(lambda d: d.update(input_shape=[16, -4])), "input_shape[1]", "positive integer"),
    (edit(lambda d: d.update(input_shape="16x4")), "input_shape", "list"),
    (edit(lambda d: d.update(scripts={"main.py": ""})), "scripts", "list"),
    (edit(lambda d: d["scripts"][0].update(source=3)), "scripts[0].source", "text"),
    (edit(lambda d: d.update(training=[1])), "training", "object"),
]


@pytest.mark.parametrize("text, path, words", MALFORMED, ids=[m[1] or m[2] for m in MALFORMED])
def test_malformed_projects_are_rejected_by_field(text, path, words):
    with pytest.raises(ProjectError) as err:
        proj.parse_project(text)
    assert err.value.path == path and words in err.value.message


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProjectError, match="cannot read"):
        proj.load_project(tmp_path / "missing.gradstudio")


def test_trust_is_remembered_per_content_and_survives_a_damaged_store(tmp_path):
    path = tmp_path / "net.gradstudio"
    proj.save_project(sample(), path)
    store = TrustStore(tmp_path / "trust.json")
    digest = proj.content_hash(path)
    assert not store.is_trusted(digest)
    store.trust(digest)
    assert TrustStore(tmp_path / "trust.json").is_trusted(digest)
    changed = sample()
    changed.scripts[0].source = "import os\n"
    proj.save_project(changed, path)
    assert not store.is_trusted(proj.content_hash(path))  # new content: ask again
    (tmp_path / "trust.json").write_text("{broken")
    assert not store.is_trusted(digest)
