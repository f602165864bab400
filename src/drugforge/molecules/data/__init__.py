"""Data layer: readers/writers, datasets, the dataset catalog and splits."""

from __future__ import annotations

from drugforge.molecules.data.catalog import DatasetInfo, dataset_info, list_datasets
from drugforge.molecules.data.catalog_load import export_dataset, load_dataset
from drugforge.molecules.data.dataset import MoleculeDataset, PrepReport, prepare_dataset
from drugforge.molecules.data.io import MolTable, read_molecules, write_table
from drugforge.molecules.data.splits import Split, kfold, make_split

__all__ = [
    "DatasetInfo",
    "MolTable",
    "MoleculeDataset",
    "PrepReport",
    "Split",
    "dataset_info",
    "export_dataset",
    "kfold",
    "list_datasets",
    "load_dataset",
    "make_split",
    "prepare_dataset",
    "read_molecules",
    "write_table",
]
