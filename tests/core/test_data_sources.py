"""Training data sources: shipped digits, CSV files, Dataset classes from a script, the
stored dataset description, and worker processes that are spawned, not forked."""

from __future__ import annotations

import pickle
import textwrap

import pytest
import torch

from gradstudio.core.capture import register_source
from gradstudio.core.data import (
    DATASET_KINDS,
    DataError,
    DatasetSpec,
    LoaderSettings,
    csv_dataset,
    describe,
    digits,
    find_datasets,
    instantiate_dataset,
    make_loaders,
    read_csv_columns,
    spirals,
    suggest_loss,
)
from gradstudio.core.training import TrainConfig, train

# --- digits -------------------------------------------------------------------------------


def test_digits_are_1797_scaled_images_of_ten_classes():
    ds = digits()
    assert ds.x.shape == (1797, 64) and ds.x.dtype == torch.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y.dtype == torch.long and sorted(ds.y.unique().tolist()) == list(range(10))
    assert ds.num_classes == 10 and ds.classes[3] == "3" and ds.name == "digits"
    images = digits(flatten=False)
    assert images.x.shape == (1797, 1, 8, 8)
    torch.testing.assert_close(images.x.reshape(1797, 64), ds.x)
    torch.testing.assert_close(digits(seed=0).x, ds.x)
    assert not torch.equal(digits(seed=1).x, ds.x)  # the seed shuffles the order
    assert sorted(digits(seed=1).y.tolist()) == sorted(ds.y.tolist())


def test_digits_learnable_above_90_percent_by_a_small_mlp():
    torch.manual_seed(0)
    train_loader, val_loader = make_loaders(digits(), LoaderSettings(batch_size=64, validation_fraction=0.2))
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    config = TrainConfig(lr=0.01, epochs=6, device="cpu", loss=suggest_loss(digits()))
    val_accuracy = [m.val_accuracy for m in train(model, train_loader, val_loader, config) if m.val_accuracy is not None]
    assert len(val_accuracy) == 6 and val_accuracy[-1] > 0.9


# --- CSV ----------------------------------------------------------------------------------


def _write(tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_csv_feature_subset_and_string_targets(tmp_path):
    path = _write(tmp_path, """
        height,weight,age,species
        1.0,2.0,30,dog
        1.5,2.5,40,cat

        2.0,3.0,50,dog
        """)
    assert read_csv_columns(path) == ["height", "weight", "age", "species"]
    ds = csv_dataset(path, ["age", "height"], "species")
    assert ds.task == "classification" and ds.classes == ["cat", "dog"]
    assert ds.y.tolist() == [1, 0, 1] and ds.num_classes == 2
    torch.testing.assert_close(ds.x, torch.tensor([[30.0, 1.0], [40.0, 1.5], [50.0, 2.0]]))
    assert describe(ds) == "people: 3 samples, 2 features, 2 classes"
    assert suggest_loss(ds) == "cross_entropy"
    pickle.loads(pickle.dumps(ds))  # spawned workers receive it


def test_csv_auto_task_numeric_targets(tmp_path):
    few = _write(tmp_path, "a,b,label\n1,2,10\n3,4,2\n5,6,2\n", "few.csv")
    ds = csv_dataset(few, ["a", "b"], "label")
    assert ds.task == "classification" and ds.classes == ["2", "10"] and ds.y.tolist() == [1, 0, 0]
    many = _write(tmp_path, "x;y\n" + "".join(f"{i};{i * 0.5}\n" for i in range(30)), "many.csv")
    reg = csv_dataset(many, ["x"], "y")
    assert reg.task == "regression" and reg.y.shape == (30, 1) and reg.y[3, 0] == 1.5
    assert suggest_loss(reg) == "mse"
    forced = csv_dataset(few, ["a"], "label", task="regression")
    assert forced.y[:, 0].tolist() == [10.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "text, features, target, words",
    [
        ("a,b,y\n1,2,0\n", ["a", "c"], "y", r"no column 'c'; the columns are 'a', 'b', 'y'"),
        ("a,b,y\n1,2,0\n3,oops,1\n", ["a", "b"], "y", r"row 3, column 'b': 'oops' is not a number"),
        ("a,b,y\n1,,0\n", ["a", "b"], "y", r"row 2, column 'b': is empty"),
        ("1,2,0\n3,4,1\n", ["a"], "y", r"row 1 holds numbers, not column names"),
        ("", ["a"], "y", r"the file is empty"),
        ("a,b,y\n", ["a"], "y", r"no data rows"),
        ("a,b,y\n1,2,0\n", ["a", "y"], "y", r"'y' is both the target and a feature"),
        ("a,y\n1,cat\n2,dog\n", ["a"], "y", r"row 2, column 'y': 'cat' is not a number"),
        ("a,b,y\n1,2\n", ["a"], "y", r"row 2: 2 values but the header has 3 columns"),
    ],
)
def test_csv_errors_name_file_column_and_row(tmp_path, text, features, target, words):
    path = _write(tmp_path, text, "bad.csv")
    task = "regression" if "cat" in text else "auto"
    with pytest.raises(DataError, match=words) as info:
        csv_dataset(path, features, target, task=task)
    assert "bad.csv" in str(info.value)


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="nowhere.csv: no such file"):
        read_csv_columns(tmp_path / "nowhere.csv")


# --- a user's Dataset classes ---------------------------------------------------------------

SCRIPT = """
import torch
from torch.utils.data import Dataset, TensorDataset

class Squares(Dataset):
    def __init__(self, n=8):
        self.n = n
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        return torch.tensor([float(i)]), float(i * i)

class Broken(Dataset):
    def __init__(self):
        self.items = [1, 2]
    def __len__(self):
        return 2
    def __getitem__(self, i):
        return self.items[i] / 0

class Single(Dataset):
    def __len__(self):
        return 1
    def __getitem__(self, i):
        return torch.zeros(2)

class Empty(Dataset):
    def __len__(self):
        return 0

class NoLength(Dataset):
    def __getitem__(self, i):
        return 1, 2

class Texty(Dataset):
    def __len__(self):
        return 1
    def __getitem__(self, i):
        return "a sentence", 1
"""


def _run_script(source: str = SCRIPT) -> dict:
    """As the app runs editor text: source registered for tracebacks, __name__ "__main__"."""
    register_source("<editor>", source)
    namespace = {"__name__": "__main__", "__file__": "<editor>"}
    exec(compile(source, "<editor>", "exec"), namespace)
    return namespace


def test_find_datasets_lists_only_the_scripts_own_classes():
    found = find_datasets(_run_script())
    assert list(found) == ["Squares", "Broken", "Single", "Empty", "NoLength", "Texty"]
    ds = instantiate_dataset(found["Squares"], n=5)
    assert len(ds) == 5 and ds[2][1] == 4.0
    assert describe(ds) == "Squares: 5 samples, 1 feature, regression" and suggest_loss(ds) == "mse"


@pytest.mark.parametrize(
    "name, kwargs, words",
    [
        ("Broken", {}, r"Broken\[0\] raised ZeroDivisionError: division by zero \(at <editor>, line"),
        ("Squares", {"size": 3}, r"Squares\(size=3\) raised TypeError: .*unexpected keyword argument 'size'"),
        ("Single", {}, r"Single\[0\] returned a Tensor; __getitem__ must return a pair \(input, target\)"),
        ("Empty", {}, r"Empty\(\) is empty: __len__ returned 0"),
        ("NoLength", {}, r"NoLength has no __len__"),
        ("Texty", {}, r"Texty\[0\]: the input is a str; expected a tensor or a number"),
    ],
)
def test_instantiate_dataset_errors_name_the_class_and_the_problem(name, kwargs, words):
    cls = find_datasets(_run_script())[name]
    with pytest.raises(DataError, match=words):
        instantiate_dataset(cls, **kwargs)


def test_broken_dataset_error_quotes_the_users_line():
    line = SCRIPT.splitlines().index("        return self.items[i] / 0") + 1
    with pytest.raises(DataError) as info:
        instantiate_dataset(find_datasets(_run_script())["Broken"])
    assert str(info.value).endswith(f"(at <editor>, line {line}: return self.items[i] / 0)")


# --- the stored description -------------------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        {"kind": "spirals", "options": {"size": 200, "noise": 0.2, "classes": 3, "seed": 4}},
        {"kind": "digits", "options": {"seed": 0, "flatten": False}},
        {"kind": "csv", "options": {"path": "data.csv", "features": ["a", "b"], "target": "y", "task": "auto"}},
        {"kind": "user", "options": {"class_name": "Squares", "kwargs": {"n": 4}}},
    ],
)
def test_dataset_spec_round_trips(d):
    spec = DatasetSpec.from_dict(d)
    assert spec.to_dict() == d
    assert DatasetSpec.from_dict(spec.to_dict()) == spec


def test_dataset_spec_fills_defaults_and_builds_every_kind(tmp_path):
    spec = DatasetSpec.from_dict({"kind": "moons"})
    assert spec.options == {"size": 600, "noise": 0.1, "seed": 0}
    assert describe(spec.build()) == "moons: 600 samples, 2 features, 2 classes"
    assert describe(DatasetSpec("digits", {"flatten": False}).build()) == "digits: 1797 samples, 1×8×8 inputs, 10 classes"
    _write(tmp_path, "a,b,y\n1,2,x\n3,4,z\n", "data.csv")
    csv = DatasetSpec("csv", {"path": "data.csv", "features": ["b"], "target": "y"}).build(base_dir=tmp_path)
    assert csv.classes == ["x", "z"]
    user = DatasetSpec("user", {"class_name": "Squares", "kwargs": {"n": 4}}).build(_run_script())
    assert len(user) == 4
    assert set(DATASET_KINDS) == {"spirals", "moons", "circles", "xor", "blobs", "sine", "polynomial", "step", "digits"}
    noise = next(o for o in DATASET_KINDS["spirals"].options if o.name == "noise")
    assert (noise.type, noise.default, noise.minimum) == (float, 0.1, 0.0)


@pytest.mark.parametrize(
    "d, path, words",
    [
        ({"kind": "spirals", "options": {"noise": -1}}, "training.dataset.options.noise", "expected a number >= 0"),
        ({"kind": "spirals", "options": {"size": "many"}}, "training.dataset.options.size",
         "expected an integer from 2 to 100000"),
        ({"kind": "spirals", "options": {"colour": 1}}, "training.dataset.options.colour", "unknown option"),
        ({"kind": "digits", "options": {"flatten": 1}}, "training.dataset.options.flatten", "expected true or false"),
        ({"kind": "mnist"}, "training.dataset.kind", "expected one of spirals"),
        ({"kind": "csv", "options": {"path": "a.csv", "features": [], "target": "y"}},
         "training.dataset.options.features", "one or more column names"),
        ({"kind": "csv", "options": {"path": "a.csv", "features": ["a"], "target": "y", "task": "guess"}},
         "training.dataset.options.task", "expected one of auto, classification, regression"),
        ({"kind": "user", "options": {"class_name": "My Data"}}, "training.dataset.options.class_name",
         "name of a Dataset class"),
        ({"kind": "user", "options": {"class_name": "A", "kwargs": {"f": float("nan")}}},
         "training.dataset.options.kwargs.f", "finite number"),
        ("spirals", "training.dataset", "expected a table"),
    ],
)
def test_dataset_spec_errors_name_the_field(d, path, words):
    with pytest.raises(DataError, match=words) as info:
        DatasetSpec.from_dict(d)
    assert info.value.path == path and str(info.value).startswith(path + ":")


def test_user_spec_needs_the_scripts_namespace():
    spec = DatasetSpec("user", {"class_name": "Missing"})
    with pytest.raises(DataError, match="run the script first"):
        spec.build()
    with pytest.raises(DataError, match="defines no Dataset class 'Missing' .it defines: Squares, Broken"):
        spec.build(_run_script())


# --- worker processes -------------------------------------------------------------------------


def test_workers_are_spawned_and_yield_batches():
    train_loader, _ = make_loaders(spirals(size=64), LoaderSettings(batch_size=16, validation_fraction=0,
                                                                   num_workers=2))
    assert train_loader.multiprocessing_context.get_start_method() == "spawn"
    batches = list(train_loader)
    assert len(batches) == 4 and batches[0][0].shape == (16, 2)
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == sorted(spirals(size=64).y.tolist())
    del train_loader, batches


def test_editor_dataset_with_workers_says_use_zero():
    ds = instantiate_dataset(find_datasets(_run_script())["Squares"])
    with pytest.raises(DataError, match="needs a dataset class defined in an importable file; Squares was "
                                        "defined in the editor — use num_workers 0"):
        make_loaders(ds, LoaderSettings(num_workers=2))
    train_loader, _ = make_loaders(ds, LoaderSettings(num_workers=0))  # in-thread loading is fine
    assert len(list(train_loader)) == 1


def test_unpicklable_dataset_with_workers_is_refused_in_words():
    ds = spirals(size=20)
    ds.transform = lambda x: x  # noqa: E731 -- a lambda cannot cross to a spawned worker
    with pytest.raises(DataError, match="cannot be pickled .* use num_workers 0"):
        make_loaders(ds, LoaderSettings(num_workers=1))
