"""Shared fixtures. The reference data folder comes from $LEAKGAN_SHARED_DATA
(default ../shared/data from the repo root); tests that need it skip with a
reason when it is absent, everything else runs on seeded random data."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def shared_data_path():
    return pathlib.Path(os.environ.get("LEAKGAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    path = shared_data_path()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} not found (set LEAKGAN_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def paper_oracle_npz(shared_data):
    path = shared_data / "oracle_target_params.npz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def pytest_collection_modifyitems(items):
    """The `heavy` modules first (stable otherwise): with two test processes the
    longest modules must not be the last ones handed out."""
    def seconds(item):
        mark = item.get_closest_marker("heavy")
        return mark.kwargs.get("seconds", 1) if mark else 0
    items.sort(key=lambda item: -seconds(item))
