"""GPU names for the device list, without starting CUDA in the app's process."""

import pytest

from gradstudio.core.training import gpu_names as g


@pytest.fixture()
def nvml(monkeypatch):
    """NVML reporting the given names, CUDA not started, no device variables set."""
    monkeypatch.setattr(g.torch.cuda, "is_initialized", lambda: False)
    for var in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"):
        monkeypatch.delenv(var, raising=False)

    def report(names):
        monkeypatch.setattr(g, "_nvml_names", lambda: names)
    return report


def test_alike_gpus_are_named_whatever_is_hidden_or_first(nvml, monkeypatch):
    nvml(["NVIDIA H100 80GB HBM3"] * 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert g.gpu_names(2) == ["NVIDIA H100 80GB HBM3"] * 2


def test_different_gpus_are_named_only_when_nvml_order_is_cuda_order(nvml, monkeypatch):
    nvml(["NVIDIA A100", "NVIDIA T4"])
    assert g.gpu_names(2) == ["GPU 0", "GPU 1"]  # CUDA puts the fastest first: NVML's order may differ
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert g.gpu_names(2) == ["NVIDIA A100", "NVIDIA T4"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert g.gpu_names(1) == ["GPU 0"]


def test_without_nvml_the_gpus_are_numbered(nvml):
    nvml(None)
    assert g.gpu_names(2) == ["GPU 0", "GPU 1"] and g.gpu_names(0) == []


def test_nvml_is_absent_or_answers_here_without_error():
    names = g._nvml_names()
    assert names is None or all(isinstance(n, str) and n for n in names)
