"""`compression.engine`'s public names are what its docstring says they are."""

import inspect
import pkgutil
import subprocess
import sys

import compression.engine as engine
from tests.conftest import REPO_ROOT

FUNCTIONS = {
    "quantize", "elbow", "compress", "probe", "thumbnail", "validate_options", "plan_geometry", "parse_hex_colour",
    "precheck", "decode_capped", "probe_capped", "prepare_preview", "render_preview",
}
CLASSES = {
    "Quantization", "CompressOptions", "CompressResult", "CompressStats", "CropBox", "PaletteEntry", "SearchAttempt",
    "GeometryPlan", "ImageInfo", "Bound", "DecodeLimits", "CappedDecode", "PreviewSource", "PreviewResult",
}
ERRORS = {"EngineError", "InvalidImage", "UnsupportedFormat", "ImageTooLarge", "ImageTooCostly", "InvalidOptions"}
PRESET_TUPLES = {"COMPRESSION_PRESETS", "DIMENSION_PRESETS", "RESIZE_MODES"}


def test_all_lists_exactly_the_documented_names():
    assert set(engine.__all__) == FUNCTIONS | CLASSES | ERRORS | PRESET_TUPLES | {"ENGINE_VERSION", "BOUNDS", "MAX_DIMENSION"}
    for name in engine.__all__:
        assert name in engine.__doc__, f"{name} is public but not in the docstring"


def test_each_name_is_of_its_kind():
    for name in FUNCTIONS:
        assert inspect.isfunction(getattr(engine, name)), name
    for name in CLASSES:
        assert inspect.isclass(getattr(engine, name)), name
    for name in ERRORS:
        assert issubclass(getattr(engine, name), engine.EngineError), name
    for name in PRESET_TUPLES:
        value = getattr(engine, name)
        assert isinstance(value, tuple) and value and all(hasattr(item, "key") for item in value), name
    assert isinstance(engine.ENGINE_VERSION, str) and isinstance(engine.MAX_DIMENSION, int)
    assert engine.BOUNDS and all(isinstance(bound, engine.Bound) for bound in engine.BOUNDS.values())


def test_no_submodule_shadows_a_public_name():
    # A submodule imported after `from .x import name` rebinds `engine.name` to the module.
    submodules = {info.name for info in pkgutil.iter_modules(engine.__path__)}
    assert not submodules & set(engine.__all__)


def test_quantize_is_the_function_in_a_fresh_interpreter():
    code = (
        "import numpy as np; from compression.engine import quantize; "
        "print(quantize(np.zeros((4, 4, 3), np.uint8), 2).palette.tolist())"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[[0, 0, 0]]"
