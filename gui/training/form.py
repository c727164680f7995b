"""The training settings as a form: model, dataset (built-in, CSV, or a class from the
script), loader, optimizer and loop. It reads and writes `TrainingSettings`, so what the
form shows is exactly what a project stores and a run records."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.data import DATASET_KINDS, DatasetSpec, LoaderSettings, read_csv_columns
from gradstudio.core.training import LOSSES, OPTIMIZERS, TrainConfig, available_devices
from gradstudio.core.training.settings import TrainingSettings

LOSS_LABELS = {"cross_entropy": "Cross-entropy", "mse": "Mean squared error", "bce_with_logits": "BCE with logits",
               "l1": "L1 (mean absolute error)"}
CSV, USER = "csv", "user"


def ask_csv_file(parent: QWidget) -> str:
    """The CSV file dialog; tests replace this function."""
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a CSV file", "", "CSV files (*.csv *.csv.gz *.tsv);;All files (*)")
    return path


def _spin(minimum: float, maximum: float, value: float, decimals: int | None = None, step: float | None = None):
    if decimals is None:
        box = QSpinBox()
        box.setRange(int(minimum), int(min(maximum, 2**31 - 1)))
        box.setValue(int(value))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(decimals)
        box.setRange(minimum, maximum)
        box.setValue(value)
        if step:
            box.setSingleStep(step)
    return box


class TrainingForm(QWidget):
    sig_changed = Signal()
    """Any setting changed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._user_classes: list[str] = []
        self._option_widgets: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        self.model_choice = QComboBox()
        self.model_choice.setToolTip("Which model trains: the Builder's, one your script created, or a small MLP "
                                     "sized for the dataset")
        form.addRow("Train", self.model_choice)
        layout.addWidget(model_box)

        data_box = QGroupBox("Data")
        self.data_form = QFormLayout(data_box)
        self.dataset = QComboBox()
        for name, kind in DATASET_KINDS.items():
            self.dataset.addItem(kind.label, name)
        self.dataset.addItem("CSV file…", CSV)
        self.dataset.addItem("Dataset class from the script", USER)
        self.data_form.addRow("Dataset", self.dataset)
        self.dataset_help = QLabel()
        self.dataset_help.setWordWrap(True)
        self.dataset_help.setProperty("role", "hint")
        self.data_form.addRow(self.dataset_help)
        self.options_host = QWidget()
        self.options_form = QFormLayout(self.options_host)
        self.options_form.setContentsMargins(0, 0, 0, 0)
        self.data_form.addRow(self.options_host)
        self._build_csv_widgets()
        self.user_class = QComboBox()
        self.data_form.addRow("Class", self.user_class)
        self.batch_size = _spin(1, 65536, 32)
        self.validation = _spin(0.0, 0.9, 0.2, decimals=2, step=0.05)
        self.shuffle = QCheckBox("Shuffle each epoch")
        self.shuffle.setChecked(True)
        self.workers = _spin(0, 32, 0)
        self.workers.setToolTip("DataLoader worker processes (spawned); 0 loads batches in the training thread")
        self.data_form.addRow("Batch size", self.batch_size)
        self.data_form.addRow("Validation", self.validation)
        self.data_form.addRow("", self.shuffle)
        self.data_form.addRow("Workers", self.workers)
        layout.addWidget(data_box)

        opt_box = QGroupBox("Optimization")
        form = QFormLayout(opt_box)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.lr = _spin(1e-6, 100.0, 0.01, decimals=5, step=0.001)
        self.momentum = _spin(0.0, 0.999, 0.0, decimals=3, step=0.1)
        self.weight_decay = _spin(0.0, 1.0, 0.0, decimals=5, step=0.0001)
        self.loss = QComboBox()
        for key in LOSSES:
            self.loss.addItem(LOSS_LABELS.get(key, key), key)
        self.epochs = _spin(1, 100_000, 20)
        self.scheduler_step = _spin(0, 10_000, 0)
        self.scheduler_step.setSpecialValueText("off")
        self.scheduler_step.setToolTip("Multiply the learning rate by gamma every N epochs (StepLR)")
        self.scheduler_gamma = _spin(0.01, 1.0, 0.5, decimals=2, step=0.05)
        self.seed = _spin(0, 2**31 - 1, 0)
        self.device = QComboBox()
        self.device.addItem("Automatic (first GPU, else CPU)", "auto")
        for name, description in available_devices():
            self.device.addItem(f"{name} — {description}" if description != name.upper() else name, name)
        self.data_parallel = QCheckBox("Use every GPU (DataParallel)")
        import torch

        self.data_parallel.setEnabled(torch.cuda.device_count() > 1)
        if not self.data_parallel.isEnabled():
            self.data_parallel.setToolTip("Needs more than one CUDA GPU")
        for label, widget in (("Optimizer", self.optimizer), ("Learning rate", self.lr), ("Momentum", self.momentum),
                              ("Weight decay", self.weight_decay), ("Loss", self.loss), ("Epochs", self.epochs),
                              ("LR step every", self.scheduler_step), ("LR gamma", self.scheduler_gamma),
                              ("Seed (weights, order)", self.seed), ("Device", self.device), ("", self.data_parallel)):
            form.addRow(label, widget)
        layout.addWidget(opt_box)
        layout.addStretch(1)

        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.optimizer.currentTextChanged.connect(self._update_enabled)
        for widget in self.findChildren(QWidget):
            for signal in ("valueChanged", "currentIndexChanged", "toggled", "textChanged"):
                sig = getattr(widget, signal, None)
                if sig is not None and hasattr(sig, "connect"):
                    try:
                        sig.connect(self.sig_changed)
                    except (RuntimeError, TypeError):
                        pass
                    break
        self._on_dataset_changed()

    # -- CSV ---------------------------------------------------------------------------
    def _build_csv_widgets(self) -> None:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.csv_path = QLineEdit()
        self.csv_path.setPlaceholderText("path/to/data.csv")
        self.csv_browse = QPushButton("Choose…")
        self.csv_browse.clicked.connect(self._choose_csv)
        self.csv_path.editingFinished.connect(self._load_csv_columns)
        h.addWidget(self.csv_path, 1)
        h.addWidget(self.csv_browse)
        self.csv_row = row
        self.data_form.addRow("File", row)
        self.csv_features = QListWidget()
        self.csv_features.setMaximumHeight(110)
        self.csv_features.setToolTip("Tick the columns the model reads")
        self.data_form.addRow("Features", self.csv_features)
        self.csv_target = QComboBox()
        self.data_form.addRow("Target", self.csv_target)
        self.csv_task = QComboBox()
        for label, value in (("Automatic", "auto"), ("Classification", "classification"), ("Regression", "regression")):
            self.csv_task.addItem(label, value)
        self.data_form.addRow("Task", self.csv_task)
        self.csv_error = QLabel()
        self.csv_error.setWordWrap(True)
        self.csv_error.setStyleSheet("color: #c62828")
        self.data_form.addRow(self.csv_error)

    def _choose_csv(self) -> None:
        path = ask_csv_file(self)
        if path:
            self.csv_path.setText(path)
            self._load_csv_columns()

    def _load_csv_columns(self, target: str | None = None, features: list[str] | None = None) -> None:
        self.csv_features.clear()
        self.csv_target.clear()
        self.csv_error.clear()
        path = self.csv_path.text().strip()
        if not path:
            return
        try:
            columns = read_csv_columns(path)
        except Exception as exc:
            self.csv_error.setText(str(exc))
            return
        target = target if target in columns else columns[-1]
        for name in columns:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            ticked = name in features if features is not None else name != target
            item.setCheckState(Qt.Checked if ticked else Qt.Unchecked)
            self.csv_features.addItem(item)
            self.csv_target.addItem(name)
        self.csv_target.setCurrentText(target)
        self.sig_changed.emit()

    # -- dataset options ---------------------------------------------------------------
    def _on_dataset_changed(self) -> None:
        kind = self.dataset.currentData()
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self._option_widgets.clear()
        builtin = DATASET_KINDS.get(kind)
        if builtin is not None:
            self.dataset_help.setText(builtin.description)
            for option in builtin.options:
                if option.type is bool:
                    widget = QCheckBox()
                    widget.setChecked(bool(option.default))
                    widget.toggled.connect(self.sig_changed)
                elif option.type is int:
                    widget = _spin(option.minimum or 0, option.maximum or 1_000_000, option.default)
                    widget.valueChanged.connect(self.sig_changed)
                else:
                    widget = _spin(option.minimum or 0.0, option.maximum or 100.0, option.default, decimals=3, step=0.05)
                    widget.valueChanged.connect(self.sig_changed)
                self._option_widgets[option.name] = widget
                self.options_form.addRow(option.label, widget)
            self.loss.setCurrentIndex(self.loss.findData("mse" if builtin.task == "regression" else "cross_entropy"))
        elif kind == CSV:
            self.dataset_help.setText("Your own table: tick the feature columns, choose the target.")
        else:
            self.dataset_help.setText("A torch.utils.data.Dataset subclass defined in the Code panel's script "
                                      "(run the script first).")
        for widget, shown in ((self.csv_row, kind == CSV), (self.csv_features, kind == CSV),
                              (self.csv_target, kind == CSV), (self.csv_task, kind == CSV),
                              (self.csv_error, kind == CSV), (self.user_class, kind == USER)):
            widget.setVisible(shown)
            label = self.data_form.labelForField(widget)
            if label is not None:
                label.setVisible(shown)
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.momentum.setEnabled(self.optimizer.currentText() in ("SGD", "RMSprop"))

    # -- model choices -----------------------------------------------------------------
    def set_model_choices(self, choices: list[tuple[str, str]]) -> None:
        """(label, key) pairs; keeps the current choice when it is still offered."""
        current = self.model_choice.currentData()
        self.model_choice.blockSignals(True)
        self.model_choice.clear()
        for label, key in choices:
            self.model_choice.addItem(label, key)
        index = self.model_choice.findData(current)
        self.model_choice.setCurrentIndex(max(index, 0))
        self.model_choice.blockSignals(False)

    def set_user_classes(self, names: list[str]) -> None:
        current = self.user_class.currentText()
        self.user_class.clear()
        self.user_class.addItems(names)
        if current in names:
            self.user_class.setCurrentText(current)

    # -- settings <-> widgets ----------------------------------------------------------
    def dataset_spec(self) -> DatasetSpec:
        kind = self.dataset.currentData()
        if kind == CSV:
            path = self.csv_path.text().strip()
            if path and self.csv_features.count() == 0:
                read_csv_columns(path)  # no columns offered: say why the file cannot be read
            features = [self.csv_features.item(i).text() for i in range(self.csv_features.count())
                        if self.csv_features.item(i).checkState() == Qt.Checked]
            return DatasetSpec(CSV, {"path": path, "features": features,
                                     "target": self.csv_target.currentText(), "task": self.csv_task.currentData()})
        if kind == USER:
            return DatasetSpec(USER, {"class_name": self.user_class.currentText(), "kwargs": {}})
        options = {}
        for name, widget in self._option_widgets.items():
            options[name] = widget.isChecked() if isinstance(widget, QCheckBox) else widget.value()
        return DatasetSpec(kind, options)

    def settings(self) -> TrainingSettings:
        """The form as checked settings; a SettingsError names a bad field."""
        train = TrainConfig(optimizer=self.optimizer.currentText(), lr=self.lr.value(), momentum=self.momentum.value(),
                            weight_decay=self.weight_decay.value(), loss=self.loss.currentData(),
                            epochs=self.epochs.value(), device=self.device.currentData(), seed=self.seed.value(),
                            scheduler_step=self.scheduler_step.value(), scheduler_gamma=self.scheduler_gamma.value(),
                            extra=self._extra())
        loader = LoaderSettings(batch_size=self.batch_size.value(), shuffle=self.shuffle.isChecked(),
                                validation_fraction=self.validation.value(), num_workers=self.workers.value(),
                                seed=self.seed.value())
        from dataclasses import asdict

        return TrainingSettings.from_dict({"dataset": self.dataset_spec().to_dict(), "loader": asdict(loader),
                                           "train": train.to_dict()})

    def _extra(self) -> dict:
        extra = {"model": self.model_choice.currentData() or "mlp"}  # which model trains, for projects
        if self.data_parallel.isChecked():
            extra["data_parallel"] = True
        return extra

    def set_settings(self, settings: TrainingSettings) -> None:
        spec = settings.dataset
        self.dataset.setCurrentIndex(max(self.dataset.findData(spec.kind), 0))
        if spec.kind == CSV:
            self.csv_path.setText(spec.options.get("path", ""))
            self._load_csv_columns(spec.options.get("target"), spec.options.get("features"))
            self.csv_task.setCurrentIndex(max(self.csv_task.findData(spec.options.get("task", "auto")), 0))
        elif spec.kind == USER:
            self.user_class.setCurrentText(spec.options.get("class_name", ""))
        else:
            for name, value in spec.options.items():
                widget = self._option_widgets.get(name)
                if isinstance(widget, QCheckBox):
                    widget.setChecked(bool(value))
                elif widget is not None:
                    widget.setValue(value)
        loader, train = settings.loader, settings.train
        self.batch_size.setValue(loader.batch_size)
        self.validation.setValue(loader.validation_fraction)
        self.shuffle.setChecked(loader.shuffle)
        self.workers.setValue(loader.num_workers)
        self.optimizer.setCurrentText(train.optimizer)
        self.lr.setValue(train.lr)
        self.momentum.setValue(train.momentum)
        self.weight_decay.setValue(train.weight_decay)
        self.loss.setCurrentIndex(max(self.loss.findData(train.loss), 0))
        self.epochs.setValue(train.epochs)
        self.scheduler_step.setValue(train.scheduler_step)
        self.scheduler_gamma.setValue(train.scheduler_gamma)
        self.seed.setValue(train.seed)
        index = self.device.findData(train.device)
        self.device.setCurrentIndex(index if index >= 0 else 0)
        self.data_parallel.setChecked(bool(train.extra.get("data_parallel")) and self.data_parallel.isEnabled())
        choice = self.model_choice.findData(train.extra.get("model"))
        if choice >= 0:
            self.model_choice.setCurrentIndex(choice)
