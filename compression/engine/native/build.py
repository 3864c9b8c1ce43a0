"""The cffi build of the engine's C loops (API mode): run by pip through setup.py.

cffi compiles a CPython extension, `compression.engine.native._native`, from the C files and a
small glue module generated from `engine_native.h`: the header is both what the C files include
and the cdef the bindings are made from, so a signature that drifts from it fails the build
instead of corrupting memory at run time. The library reports the hash of the sources it was
compiled from (`native_build_id()`), which the loader compares with the sources beside it.
"""

import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # cffi runs this file as a script, outside the package
from sources import build_id  # noqa: E402
HEADER = HERE / "engine_native.h"
MODULE = "compression.engine.native._native"
# -fopenmp-simd: gcc vectorises the k-means++ and metrics loops (`#pragma omp simd`) without
# OpenMP's runtime; threads are plain pthreads (parallel.h).
COMPILE_ARGS = ["-O3", "-fopenmp-simd", "-std=c11", "-pthread", "-Wall", "-Wextra"]


def declarations() -> str:
    """The header as a cdef: cffi parses declarations only, not the preprocessor."""
    return "\n".join(line for line in HEADER.read_text().splitlines() if not line.lstrip().startswith("#"))


def _relative(path: Path) -> str:
    # setuptools wants source paths relative to the project root (where setup.py is).
    return str(path.relative_to(HERE.parents[2]))


ffibuilder = FFI()
ffibuilder.cdef(declarations())
ffibuilder.set_source(
    MODULE,
    f'#include "engine_native.h"\nconst char *native_build_id(void) {{ return "{build_id()}"; }}\n',
    sources=[_relative(path) for path in sorted(HERE.glob("*.c"))],
    include_dirs=[_relative(HERE)],
    extra_compile_args=COMPILE_ARGS,
    extra_link_args=["-pthread"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
