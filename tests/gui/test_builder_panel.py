"""The module builder: its Qt-free document (operations and their undo data) and the panel
over it (palette drops, the argument editor, shapes, errors, undo, code, recording)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import torch  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QAbstractItemView  # noqa: E402

from gradstudio.core.builder import ModuleSpec as M, SpecError  # noqa: E402
from gradstudio.gui.panels.builder import BuilderDocument, BuilderPanel, module_label, parse_path, path_text  # noqa: E402
from gradstudio.gui.panels.builder.model_tree import ERROR_COLOR, MODULE, OUTPUT, PARAMS  # noqa: E402
from gradstudio.gui.panels.builder.property_editor import parse_ints  # noqa: E402


def kinds(spec):
    return [c.kind for c in spec.children]


def undone(doc, edit):
    return doc.apply(*edit.inverse)


# -- the document, without Qt ---------------------------------------------------------------
def test_default_document_is_a_small_mlp_with_shapes_and_code():
    doc = BuilderDocument()
    assert kinds(doc.root) == ["Linear", "ReLU", "Linear"]
    assert doc.input_shape == (8, 4)
    assert doc.shapes().ok
    assert doc.shapes().nodes["model"].output_shape == (8, 2)
    assert "class Net" in doc.code()


def test_paths_round_trip():
    assert path_text([]) == "model"
    assert path_text([2, 0]) == "model.children[2].children[0]"
    assert parse_path("model.children[2].children[0]") == [2, 0]


def test_insert_remove_duplicate_and_their_inverses():
    doc = BuilderDocument()
    before = doc.root.to_dict()
    edit = doc.insert([], 1, M.of("Dropout"))
    assert edit.path == [1] and kinds(doc.root) == ["Linear", "Dropout", "ReLU", "Linear"]
    assert edit.inverse == ("remove", ([1],))
    redo = undone(doc, edit)
    assert doc.root.to_dict() == before
    doc.apply(*redo.inverse)
    assert kinds(doc.root) == ["Linear", "Dropout", "ReLU", "Linear"]

    edit = doc.duplicate([0])
    assert edit.path == [1] and kinds(doc.root)[:2] == ["Linear", "Linear"]
    undone(doc, edit)
    edit = doc.remove([2])
    assert kinds(doc.root) == ["Linear", "Dropout", "Linear"] and edit.inverse[0] == "insert"
    undone(doc, edit)
    assert kinds(doc.root) == ["Linear", "Dropout", "ReLU", "Linear"]


@pytest.mark.parametrize("path, parent, index", [
    ([0], [], 3), ([2], [], 0), ([1], [], 1), ([0], [3, 0], 0), ([3, 0, 1], [], 0), ([3, 0, 0], [], 4)])
def test_move_and_its_inverse_restore_the_tree(path, parent, index):
    tree = M.of("Sequential", M.of("Linear", out_features=8), M.of("ReLU"), M.of("Tanh"),
                M.of("Residual", M.of("Sequential", M.of("Linear"), M.of("GELU"))))
    doc = BuilderDocument(tree, (2, 16))
    before = doc.root.to_dict()
    moving = doc.at(path).to_dict()
    edit = doc.move(path, parent, index)
    assert doc.at(edit.path).to_dict() == moving
    undone(doc, edit)
    assert doc.root.to_dict() == before


def test_move_refuses_into_itself_and_out_of_a_residual():
    doc = BuilderDocument(M.of("Sequential", M.of("Residual", M.of("Sequential", M.of("Linear")))), (2, 16))
    with pytest.raises(SpecError, match="into itself"):
        doc.move([0], [0, 0], 0)
    with pytest.raises(SpecError, match="body of Residual"):
        doc.move([0, 0], [], 0)
    with pytest.raises(SpecError, match="holds exactly one body"):
        doc.insert([0], 0, M.of("ReLU"))


def test_set_arg_validates_and_names_the_field():
    doc = BuilderDocument()
    edit = doc.set_arg([0], "out_features", 32)
    assert edit.inverse == ("set_arg", ([0], "out_features", 16))
    with pytest.raises(SpecError) as info:
        doc.set_arg([0], "out_features", 0)
    assert info.value.path == "model.children[0].out_features"
    assert info.value.message == "expected a positive integer"
    with pytest.raises(SpecError, match="no argument"):
        doc.set_arg([1], "out_features", 3)


def test_shapes_are_cached_until_a_change_and_report_mismatches():
    doc = BuilderDocument()
    first = doc.shapes()
    assert doc.shapes() is first
    calls = []
    doc.changed.connect(lambda: calls.append(1))
    doc.set_arg([0], "out_features", 32)
    assert calls == [1] and doc.shapes() is not first
    report = doc.shapes()
    assert report.error.path == "model.children[2]"
    assert report.error.message.startswith("Linear(in_features=16) got an input with 32 features")
    edit = doc.set_input_shape((8, 5))
    assert edit.inverse == ("set_input_shape", ((8, 4),))
    with pytest.raises(SpecError):
        doc.set_input_shape((8, 0))


def test_labels_show_only_arguments_that_differ():
    assert module_label(M.of("Linear", in_features=4)) == "Linear(in_features=4)"
    assert module_label(M.of("ReLU")) == "ReLU()"
    assert module_label(M.of("Sequential")) == "Sequential"
    assert parse_ints("3") == 3 and parse_ints("3, 3") == (3, 3) and parse_ints("") is None
    assert parse_ints("a") == "a"


# -- the panel ------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot):
    p = BuilderPanel()
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    return p


def row(panel, path):
    return panel.tree.item_at_path(path)


def test_drop_edit_shapes_mismatch_undo_and_redo(panel):
    start = panel.document.root.to_dict()
    assert panel.drop_kind("Linear", [], 3)  # Linear(16 -> 16) after the 2-feature output
    assert row(panel, [3]).text(MODULE) == "Linear()"
    assert "Linear(in_features=16) got an input with 2 features" in row(panel, [3]).toolTip(MODULE)
    assert row(panel, [3]).foreground(MODULE).color() == ERROR_COLOR
    assert "Linear(in_features=" in panel.status.full_text()

    panel.select([3])
    field = panel.editor.fields["in_features"]
    field.setValue(2)  # through the editor widget
    assert panel.document.shapes().ok
    assert row(panel, [3]).text(OUTPUT) == "N×16"
    panel.editor.fields["out_features"].setValue(5)
    assert row(panel, [3]).text(OUTPUT) == "N×5"
    assert row(panel, [3]).text(PARAMS) == "15"
    assert row(panel, []).text(OUTPUT) == "N×5"
    after_edits = panel.document.root.to_dict()

    panel.undo_stack.undo()  # one step per field: out_features
    assert panel.document.at([3]).args["out_features"] == 16
    assert panel.editor.fields["out_features"].value() == 16
    panel.undo_stack.undo()
    panel.undo_stack.undo()
    assert panel.document.root.to_dict() == start
    for _ in range(3):
        panel.undo_stack.redo()
    assert panel.document.root.to_dict() == after_edits


def test_consecutive_edits_of_one_field_are_one_undo_step(panel):
    panel.select([0])
    for value in (17, 18, 19):
        panel.editor.fields["out_features"].setValue(value)
    assert panel.undo_stack.count() == 1
    panel.undo_stack.undo()
    assert panel.document.at([0]).args["out_features"] == 16


def test_a_bad_value_is_refused_with_a_message(panel):
    panel.drop_kind("MaxPool2d", [], 3)
    panel.select([3])
    edit = panel.editor.fields["kernel_size"]
    edit.setText("2, x")
    edit.editingFinished.emit()
    assert "kernel_size: expected an integer or a list of integers" in panel.editor.error.text()
    assert panel.document.at([3]).args["kernel_size"] == 2
    edit.setText("3, 3")
    edit.editingFinished.emit()
    assert panel.document.at([3]).args["kernel_size"] == (3, 3)
    assert panel.editor.error.text() == ""
    assert row(panel, [3]).text(MODULE) == "MaxPool2d(kernel_size=(3, 3))"


def test_remove_duplicate_and_move_through_buttons_and_undo(panel):
    start = panel.document.root.to_dict()
    panel.select([0])
    panel.button("duplicate").click()
    assert kinds(panel.document.root) == ["Linear", "Linear", "ReLU", "Linear"]
    assert panel.selected_path() == [1]
    panel.button("down").click()
    assert kinds(panel.document.root) == ["Linear", "ReLU", "Linear", "Linear"]
    assert panel.selected_path() == [2]
    panel.button("up").click()
    assert panel.selected_path() == [1]
    panel.button("remove").click()
    assert panel.document.root.to_dict() == start
    assert panel.move([2], [], 0)
    assert kinds(panel.document.root) == ["Linear", "Linear", "ReLU"]
    while panel.undo_stack.canUndo():
        panel.undo_stack.undo()
    assert panel.document.root.to_dict() == start


def test_add_goes_into_a_selected_container_and_its_body(panel):
    panel.palette.select_kind("Residual")
    panel.select([])
    assert panel.add_kind()
    assert kinds(panel.document.root)[-1] == "Residual"
    panel.select([3])
    assert panel.add_kind("Tanh")  # into the Residual's Sequential body
    assert kinds(panel.document.at([3, 0])) == ["Tanh"]
    assert not panel.drop_kind("ReLU", [3], 0)  # a Residual holds one body
    assert "holds exactly one body" in panel.status.full_text()


def test_drop_targets_follow_the_indicator(panel):
    P = QAbstractItemView.DropIndicatorPosition
    tree = panel.tree
    assert tree.drop_target(row(panel, [1]), P.AboveItem) == ([], 1)
    assert tree.drop_target(row(panel, [1]), P.BelowItem) == ([], 2)
    assert tree.drop_target(row(panel, [1]), P.OnItem) == ([], 2)  # a leaf: after it
    assert tree.drop_target(row(panel, []), P.OnItem) == ([], 3)
    assert tree.drop_target(None, P.OnViewport) == ([], 3)


def test_input_shape_edit_and_undo_shortcut(panel, qtbot):
    panel.input_shape_edit.setText("8, 5")
    panel.input_shape_edit.editingFinished.emit()
    assert panel.document.input_shape == (8, 5)
    assert "Linear(in_features=4) got an input with 5 features" in panel.status.full_text()
    panel.input_shape_edit.setText("8, 0")
    panel.input_shape_edit.editingFinished.emit()
    assert panel.input_shape_error.text() == "expected positive integers, e.g. 8, 4"
    assert panel.document.input_shape == (8, 5)
    panel.tree.setFocus()
    qtbot.keyClick(panel.tree, "z", modifier=Qt.KeyboardModifier.ControlModifier)
    assert panel.document.input_shape == (8, 4)
    assert panel.input_shape_edit.text() == "8, 4"


def test_code_view_and_record_signal_carry_compilable_source(panel, qtbot):
    panel.drop_kind("Dropout", [], 1)
    assert "class Net" in panel.code_view.toPlainText()
    assert "nn.Dropout(p=0.5)" in panel.code_view.toPlainText()
    with qtbot.waitSignal(panel.sig_record_requested) as blocker:
        panel.record_button.click()
    source = blocker.args[0]
    assert source == panel.source()
    namespace: dict = {}
    exec(compile(source, "<builder>", "exec"), namespace)
    assert namespace["Net"]()(torch.randn(8, 4)).shape == (8, 2)


def test_set_spec_loads_a_hierarchy_and_clears_undo(panel):
    net = M.of("Sequential", M.of("Conv2d"), M.of("Residual", M.of("Sequential", M.of("ReLU"))),
               M.of("AdaptiveAvgPool2d"), M.of("Flatten"), M.of("Linear", in_features=8, out_features=3))
    panel.drop_kind("ReLU", [], 0)
    panel.set_spec(net, (2, 3, 8, 8))
    assert not panel.undo_stack.canUndo()
    assert row(panel, [1, 0, 0]).text(OUTPUT) == "N×8×8×8"
    assert panel.status.full_text().startswith("Output N×3")


def test_dropping_a_palette_entry_on_the_tree_inserts_it(panel, qtbot):
    """The real drop path: the palette's drag data, a drop event on the tree's viewport."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent

    item = next(it for it in panel.palette.findItems("Tanh", Qt.MatchExactly | Qt.MatchRecursive))
    mime = panel.palette.mimeData([item])
    viewport = panel.tree.viewport()
    below_rows = QPointF(10, viewport.height() - 5)  # empty space: appends to the model
    event = QDropEvent(below_rows, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    before = len(panel.document.root.children)
    panel.tree.dropEvent(event)
    qtbot.waitUntil(lambda: len(panel.document.root.children) == before + 1)
    assert panel.document.root.children[-1].kind == "Tanh"
    panel.undo_stack.undo()
    assert len(panel.document.root.children) == before
