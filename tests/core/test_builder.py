"""The module builder's core: palette, specs, shapes, and the seed's hierarchy built from data."""

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradstudio.core.builder import KINDS, ModuleSpec as M, SpecError, infer_shapes
from gradstudio.core.builder.layers import count_parameters
from gradstudio.core.examples import CascadeNet


def residual_block(c):
    body = M.of("Sequential", M.of("Conv2d", in_channels=c, out_channels=c, kernel_size=3, padding=1, bias=False),
                M.of("BatchNorm2d", num_features=c), M.of("ReLU"),
                M.of("Conv2d", in_channels=c, out_channels=c, kernel_size=3, padding=1, bias=False),
                M.of("BatchNorm2d", num_features=c))
    return [M.of("Residual", body), M.of("ReLU")]


def stage(c, depth):
    return M.of("Sequential", *[m for _ in range(depth) for m in residual_block(c)])


def seed_hierarchy():
    """Residual blocks -> stages of equal channels -> stages of different channels."""
    return M.of(
        "Sequential",
        M.of("Conv2d", in_channels=3, out_channels=8, kernel_size=3, padding=1),
        stage(8, 2),
        M.of("Conv2d", in_channels=8, out_channels=16, kernel_size=3, stride=2, padding=1),
        stage(16, 2),
        M.of("AdaptiveAvgPool2d", output_size=1), M.of("Flatten"), M.of("Linear", in_features=16, out_features=10),
    )


def test_seed_hierarchy_from_the_builder_matches_the_hand_written_module():
    built = seed_hierarchy().build()
    hand = CascadeNet(in_channels=3, widths=(8, 16), depth=2, num_classes=10)
    assert count_parameters(built) == count_parameters(hand)
    out = built(torch.randn(2, 3, 16, 16))
    assert out.shape == hand(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    report = infer_shapes(seed_hierarchy(), (2, 3, 16, 16))
    assert report.ok
    assert report.nodes["model"].output_shape == (2, 10)
    assert report.nodes["model.children[3]"].output_shape == (2, 16, 8, 8)
    assert report.nodes["model"].trainable == count_parameters(hand)[0]


@pytest.mark.parametrize("kind", sorted(k for k, v in KINDS.items() if not v.container))
def test_every_palette_module_builds_with_defaults_and_reports_shapes(kind):
    spec = M.of(kind)
    module = spec.build()
    shape = KINDS[kind].example_input
    x = torch.randint(0, 10, shape) if kind == "Embedding" else torch.randn(shape)
    real = module(x)
    report = infer_shapes(spec, shape)
    assert report.ok, report.error
    assert report.nodes["model"].output_shape == tuple(real.shape)


def test_containers_build_with_defaults():
    for kind in ("Sequential", "Residual", "Repeat"):
        body = [M.of("Linear")] if kind != "Sequential" else [M.of("Linear"), M.of("Tanh")]
        assert M.of(kind, *body).build()(torch.randn(2, 16)).shape == (2, 16)


def test_mismatch_is_pinned_to_the_layer_in_words():
    net = M.of("Sequential", M.of("Linear", in_features=64, out_features=32), M.of("ReLU"),
               M.of("Linear", in_features=64, out_features=10))
    report = infer_shapes(net, (8, 64))
    assert report.error.path == "model.children[2]"
    assert report.error.message == "Linear(in_features=64) got an input with 32 features — the previous layer outputs [N, 32]"
    conv = M.of("Sequential", M.of("Conv2d", in_channels=3, out_channels=8), M.of("Conv2d", in_channels=4))
    err = infer_shapes(conv, (1, 3, 8, 8)).error
    assert err.path == "model.children[1]" and "got an input with 8 channels" in err.message


def test_repeat_with_shared_weights_has_one_set_of_parameters():
    shared = M.of("Repeat", M.of("Linear", in_features=8, out_features=8), times=3, shared=True).build()
    copies = M.of("Repeat", M.of("Linear", in_features=8, out_features=8), times=3, shared=False).build()
    assert count_parameters(copies)[0] == 3 * count_parameters(shared)[0] == 3 * (8 * 8 + 8)


def test_specs_round_trip_through_json():
    spec = seed_hierarchy()
    again = M.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert list(again.build().state_dict()) == list(spec.build().state_dict())


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"kind": "Linear", "args": {"out_features": -1}}, "model.out_features", "positive integer"),
        ({"kind": "Lenear"}, "model.kind", "unknown module"),
        ({"kind": "Linear", "args": {"bias": "yes"}}, "model.bias", "true or false"),
        ({"kind": "Linear", "args": {"widht": 3}}, "model.widht", "no argument"),
        ({"kind": "Sequential", "children": [{"kind": "ReLU"}, {"kind": "Linear", "args": {"in_features": 0}}]},
         "model.children[1].in_features", "positive integer"),
        ({"kind": "ReLU", "children": [{"kind": "ReLU"}]}, "model.children", "cannot hold"),
        ({"kind": "Residual", "children": []}, "model.children", "exactly one"),
        ({"kind": "Dropout", "args": {"p": 1.5}}, "model.p", "<= 1"),
        ({"kind": "GELU", "args": {"approximate": "fast"}}, "model.approximate", "one of"),
        ({"kind": "Sequential", "children": "Linear"}, "model.children", "list"),
        ({"kind": "Linear", "colour": "red"}, "model.colour", "unknown field"),
        ("Linear", "model", "object"),
    ],
)
def test_bad_specs_name_the_field(data, path, words):
    with pytest.raises(SpecError) as err:
        M.from_dict(data)
    assert err.value.path == path and words in err.value.message


LEAVES = ["Linear", "ReLU", "Tanh", "LayerNorm", "Dropout", "Sigmoid", "GELU", "Power", "Softmax", "BatchNorm1d"]


def trees(depth=2):
    leaf = st.builds(lambda k, a, b: M.of(k, **({"in_features": a, "out_features": b} if k == "Linear" else {})),
                     st.sampled_from(LEAVES), st.sampled_from([4, 8, 16]), st.sampled_from([4, 8, 16]))
    if depth == 0:
        return leaf
    sub = trees(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda kids: M.of("Sequential", *kids), st.lists(sub, min_size=1, max_size=4)),
        st.builds(lambda body: M.of("Residual", body), sub),
        st.builds(lambda body, n, shared: M.of("Repeat", body, times=n, shared=shared), sub,
                  st.integers(1, 3), st.booleans()),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.sampled_from([4, 8, 16]))
def test_random_trees_build_and_run_or_explain_why_not(spec, width):
    report = infer_shapes(spec, (3, width))
    if report.ok:
        out = spec.build()(torch.randn(3, width))
        assert tuple(out.shape) == report.nodes["model"].output_shape
    else:
        assert report.error.path.startswith("model") and report.error.message


def test_residual_whose_body_changes_the_shape_says_so():
    spec = M.of("Residual", M.of("Linear", in_features=8, out_features=4))
    err = infer_shapes(spec, (2, 8)).error
    assert err.path == "model"
    assert err.message == "Residual adds its input [N, 8] to its body's output [N, 4]: the body must keep the shape"


def _run_generated(spec):
    from gradstudio.core.builder import python_source

    namespace: dict = {}
    exec(compile(python_source(spec), "<generated>", "exec"), namespace)
    return namespace["Net"]()


@pytest.mark.parametrize("named", [False, True], ids=["positional", "named"])
def test_generated_code_builds_the_same_module(named):
    spec = seed_hierarchy()
    if named:
        for child, name in zip(spec.children, ["stem", "stage1", "down", "stage2", "pool", "flatten", "head"]):
            child.name = name
    generated = _run_generated(spec)
    built = spec.build()
    assert list(generated.state_dict()) == list(built.state_dict())
    assert [type(m).__name__ for m in generated.modules()][1:] == [type(m).__name__ for m in built.modules()][1:]
    generated.load_state_dict(built.state_dict())
    generated.eval(), built.eval()
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(generated(x), built(x))


def test_generated_code_for_every_palette_module_runs():
    for kind, entry in KINDS.items():
        spec = M.of(kind, *( [M.of("Linear")] if entry.container else []))
        module = _run_generated(spec)
        shape = (2, 16) if entry.container else entry.example_input
        x = torch.randint(0, 10, shape) if kind == "Embedding" else torch.randn(shape)
        assert module(x).shape == spec.build()(x).shape, kind


def test_builder_script_records_forward_and_backward():
    from gradstudio.core.builder import python_script
    from gradstudio.core.runner import run_script

    result = run_script(python_script(seed_hierarchy(), (2, 3, 16, 16)), "<builder>")
    assert result.ok, result.error
    g = result.tape.graph()
    assert "model.conv2d1.weight" in {n.label for n in g.by_kind("parameter")}  # named like Net's attributes
    assert any(e.kind == "backward_end" for e in result.tape.events)
    emb = M.of("Sequential", M.of("Embedding", num_embeddings=7, embedding_dim=4), M.of("Flatten"))
    assert run_script(python_script(emb, (2, 5)), "<builder>").ok


def test_arguments_refused_together_are_pinned_to_their_module():
    spec = M.of("Sequential", M.of("Linear"), M.of("MultiheadAttention", embed_dim=16, num_heads=3))
    err = infer_shapes(spec, (2, 5, 16)).error
    assert err.path == "model.children[1]"
    assert err.message.startswith("MultiheadAttention cannot be made with these arguments: ")
    assert "divisible" in err.message


def test_generated_code_is_a_module_with_attributes_and_forward():
    from gradstudio.core.builder import python_source

    spec = M.of("Sequential", M.of("Linear", in_features=4, out_features=8), M.of("ReLU"),
                M.of("Linear", in_features=8, out_features=2, name="head"))
    source = python_source(spec)
    assert "class Net(nn.Module):" in source
    assert "self.linear1 = nn.Linear(in_features=4, out_features=8, bias=True)" in source
    assert "        x = self.relu1(x)\n        x = self.head(x)\n        return x" in source
    assert list(spec.build().state_dict()) == ["linear1.weight", "linear1.bias", "head.weight", "head.bias"]
