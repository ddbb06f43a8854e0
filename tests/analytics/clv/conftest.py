"""CDNOW's raw transactions, read from the data file the ``lifetimes`` wheel ships (a dev
dependency used only as a data source: none of its code is imported)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest


@dataclass(frozen=True)
class Transactions:
    customer_ids: npt.NDArray[np.str_]
    dates: npt.NDArray[np.datetime64]
    values: npt.NDArray[np.float64]


def lifetimes_data(name: str) -> Path:
    """A file of ``lifetimes/datasets`` in the installed distribution, located without importing
    the package."""
    try:
        located = distribution("lifetimes").locate_file(f"lifetimes/datasets/{name}")
    except PackageNotFoundError:
        raise RuntimeError("CDNOW's data comes with lifetimes: pip install -e '.[dev]'") from None
    return Path(str(located))


@pytest.fixture(scope="session")
def cdnow() -> Transactions:
    """The 6,919 purchases of CDNOW's 2,357-customer sample (master id, sample id 1..2357,
    yyyymmdd, CDs, dollars), by sample id."""
    rows = np.loadtxt(lifetimes_data("CDNOW_sample.txt"), dtype=str)
    days = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in rows[:, 2]], dtype="datetime64[D]")
    return Transactions(rows[:, 1], days, rows[:, 4].astype(np.float64))
