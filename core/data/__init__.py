"""Data for training: small built-in datasets (no downloads) and DataLoaders from settings."""

from .loaders import LoaderSettings, make_loaders
from .synthetic import DATASETS, Regression, TensorPairs, blobs, circles, moons, polynomial, sine, spirals, step, xor

__all__ = ["DATASETS", "TensorPairs", "Regression", "LoaderSettings", "make_loaders", "spirals", "moons",
           "circles", "xor", "blobs", "sine", "polynomial", "step"]
