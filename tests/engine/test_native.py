"""The engine's compiled loops: loaded on first use, refused with the build command when missing
or built from other sources, never judged by file times."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from compression.engine import native
from compression.engine.native import sources
from tests.conftest import REPO_ROOT

ENGINE = REPO_ROOT / "compression" / "engine"


def run_in(root, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that imports `compression` from `root` only."""
    prelude = "import sys; sys.path.insert(0, sys.argv[1]);"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), str(root)],
        capture_output=True, text=True, timeout=120, cwd=root,
    )


@pytest.fixture
def engine_copy(tmp_path):
    """A copy of compression/engine (with its built library) under tmp_path/compression."""
    (tmp_path / "compression").mkdir()
    (tmp_path / "compression" / "__init__.py").write_text("")
    shutil.copytree(ENGINE, tmp_path / "compression" / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


QUANTIZE = """
import numpy as np
from compression.engine import native, quantize
print(native.status().ok, native.status().message)
print(quantize(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), 2).palette.tolist())
"""


def test_a_built_library_loads_and_quantizes(engine_copy):
    completed = run_in(engine_copy, QUANTIZE)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("True")


def test_a_missing_library_is_named_with_the_command_that_builds_it(engine_copy):
    libraries = list((engine_copy / "compression" / "engine" / "native").glob("_native*.so"))
    assert libraries
    for library in libraries:
        library.unlink()
    completed = run_in(engine_copy, QUANTIZE)
    # Importing the engine works; the first call that needs the loops says what to do.
    assert completed.stdout.startswith("False The engine's compiled library")
    assert "NativeUnavailable" in completed.stderr
    assert "is missing" in completed.stderr and "pip install -e ." in completed.stderr


def test_a_library_built_from_other_sources_is_refused(engine_copy):
    source = engine_copy / "compression" / "engine" / "native" / "kmeans.c"
    source.write_text(source.read_text() + "\n/* edited after the build */\n")
    completed = run_in(engine_copy, QUANTIZE)
    assert "was built from other sources" in completed.stderr
    assert "pip install -e ." in completed.stderr


def test_file_times_do_not_matter(engine_copy):
    # A fresh clone or a Docker COPY gives files any time: only their contents count.
    for path in (engine_copy / "compression" / "engine" / "native").iterdir():
        os.utime(path, (0, 0) if path.suffix == ".so" else None)
    completed = run_in(engine_copy, QUANTIZE)
    assert completed.returncode == 0, completed.stderr


def test_the_build_id_covers_every_source_and_header():
    names = {path.name for path in sources.source_files()}
    assert {"kmeans.c", "metrics.c", "parallel.h", "engine_native.h"} <= names
    assert native.status().build_id == sources.build_id()


def test_every_exported_function_is_declared_in_the_header():
    """Each non-static C function is in engine_native.h, so the build checks its signature."""
    header = (ENGINE / "native" / "engine_native.h").read_text()
    import re

    for path in (ENGINE / "native").glob("*.c"):
        for name in re.findall(r"^(?!static)[a-z][\w ]*?\b(\w+)\(", path.read_text(), flags=re.M):
            assert f" {name}(" in header, f"{path.name}: {name} is not declared in engine_native.h"


def test_the_library_answers_through_its_header():
    # The bindings are generated from the header; a wrong argument type is a TypeError, not a crash.
    state = native.LloydState(np.zeros((3, 3), np.float32), np.ones(3), 2)
    with pytest.raises(TypeError):
        state._c.km_assign(42)
