"""The loader of the engine's C loops refuses a missing or out-of-date library with what to run."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

NATIVE = REPO_ROOT / "compression" / "engine" / "native"


def import_copy(tmp_path):
    """Import a copy of the native package from tmp_path in a fresh interpreter."""
    code = "import sys; sys.path.insert(0, sys.argv[1]); import native"
    return subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def native_copy(tmp_path):
    shutil.copytree(NATIVE, tmp_path / "native", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "native"


def test_a_built_library_loads(native_copy):
    completed = import_copy(native_copy.parent)
    assert completed.returncode == 0, completed.stderr


def test_a_missing_library_says_how_to_build_it(native_copy):
    (native_copy / "_native.so").unlink()
    completed = import_copy(native_copy.parent)
    assert completed.returncode != 0
    assert "_native.so is missing: build it with `make native`" in completed.stderr


def test_a_library_older_than_its_sources_is_refused(native_copy):
    library = native_copy / "_native.so"
    built = library.stat().st_mtime
    os.utime(native_copy / "kmeans.c", (built + 10, built + 10))
    completed = import_copy(native_copy.parent)
    assert completed.returncode != 0
    assert "_native.so is older than kmeans.c: rebuild it with `make native`" in completed.stderr
