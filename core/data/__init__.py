"""Data for training: small built-in datasets (no downloads), handwritten digits, CSV files,
Dataset classes from a user's script, the stored description of which one a run uses, and
DataLoaders from settings."""

from .csv_dataset import DataError, csv_dataset, read_csv_columns
from .digits import digits
from .loaders import LoaderSettings, check_workers_can_load, make_loaders
from .spec import (
           DATASET_KINDS,
           KINDS,
           DatasetKind,
           DatasetOption,
           DatasetSpec,
           describe,
           suggest_loss,
)
from .synthetic import (
           DATASETS,
           Regression,
           TensorPairs,
           blobs,
           circles,
           moons,
           polynomial,
           sine,
           spirals,
           step,
           xor,
)
from .user_datasets import find_datasets, instantiate_dataset

__all__ = ["DATASETS", "TensorPairs", "Regression", "LoaderSettings", "make_loaders", "check_workers_can_load",
           "spirals", "moons", "circles", "xor", "blobs", "sine", "polynomial", "step", "digits", "DataError",
           "read_csv_columns", "csv_dataset", "find_datasets", "instantiate_dataset", "DatasetSpec", "DatasetKind",
           "DatasetOption", "DATASET_KINDS", "KINDS", "suggest_loss", "describe"]
