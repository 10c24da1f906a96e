"""Shared fixtures: real DuckDB warehouses in temporary folders, generated once per run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kpi.sample.generate import generate
from kpi.storage.warehouse import Warehouse, open_warehouse

SEOUL = ZoneInfo("Asia/Seoul")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def new_warehouse(folder: Path, name: str = "warehouse.duckdb") -> Warehouse:
    warehouse = open_warehouse(f"duckdb:///{folder / name}")
    warehouse.create_schema()
    return warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    w = new_warehouse(tmp_path)
    yield w
    w.close()


@pytest.fixture(scope="session")
def four_weeks(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The reviewer's sample: 28 days to 2026-11-23, seed 7, the real store's traffic."""
    w = new_warehouse(tmp_path_factory.mktemp("four_weeks"))
    generate(w, days=28, end=dt.date(2026, 11, 23), zone=SEOUL, seed=7)
    yield w
    w.close()


@pytest.fixture(scope="session")
def tenth_of_a_year(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """A whole year at a tenth of the traffic: the seasonal shape without the volume."""
    w = new_warehouse(tmp_path_factory.mktemp("year"))
    generate(w, days=365, end=dt.date(2026, 11, 23), zone=SEOUL, scale=0.1, seed=11)
    yield w
    w.close()
