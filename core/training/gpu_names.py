"""Names of the GPUs torch sees, without starting CUDA in this process.

`torch.cuda.get_device_name` starts CUDA: in the app that would stall the window while the
Training tab is built and keep a CUDA context (hundreds of MB of GPU memory) in a process
that never trains (runs train in their own process). NVIDIA's management library (NVML)
names the GPUs without that. Its order is the PCI bus's; CUDA's may differ, so its names
are used only where the two orders are known to agree or every GPU has the same name.
"""

from __future__ import annotations

import ctypes
import os

import torch


def gpu_names(count: int) -> list[str]:
    """A name for each of the `count` CUDA devices torch sees."""
    if count == 0:
        return []
    if torch.cuda.is_initialized():  # CUDA already runs here: ask it
        return [torch.cuda.get_device_name(i) for i in range(count)]
    names = _nvml_names()
    if names and len(set(names)) == 1:  # all alike: which ones are hidden or first does not matter
        return [names[0]] * count
    if (names and len(names) == count and os.environ.get("CUDA_VISIBLE_DEVICES") is None
            and os.environ.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID"):  # NVML's order is CUDA's
        return names
    return [f"GPU {i}" for i in range(count)]


def _nvml_names() -> list[str] | None:
    try:
        lib = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    try:
        if lib.nvmlInit_v2() != 0:
            return None
        try:
            count = ctypes.c_uint()
            if lib.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
                return None
            names = []
            for i in range(count.value):
                handle = ctypes.c_void_p()
                name = ctypes.create_string_buffer(96)
                if (lib.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(handle)) != 0
                        or lib.nvmlDeviceGetName(handle, name, ctypes.c_uint(96)) != 0):
                    return None
                names.append(name.value.decode(errors="replace"))
            return names
        finally:
            lib.nvmlShutdown()
    except AttributeError:  # an NVML without these functions
        return None
