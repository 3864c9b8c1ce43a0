"""size_curve(): exact sizes for small outputs, tile estimates for large ones, validation."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from compression.engine import CompressOptions, CropBox, InvalidOptions, compress
from compression.engine.encode import encode
from compression.engine.curves import TILE_SIDE, size_curve
from compression.engine.kmeans import quantize
from tests.conftest import REPO_ROOT
from tests.helpers import encode_png, gradient, noise

KS = (2, 4, 8, 16, 32)


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with mild noise: compresses like a photo, not like pure noise."""
    rng = np.random.default_rng(seed)
    base = gradient(width, height).astype(np.float64)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny():
    return photo_like(40, 30, seed=1)


def test_small_image_sizes_are_exact_direct_encodes(tiny):
    curve = size_curve(encode_png(tiny), KS, options=CompressOptions())
    assert curve.exact and curve.n_tiles == 0
    assert (curve.width, curve.height, curve.sample_pixels) == (40, 30, 1200)
    assert [p.n_colors for p in curve.points] == list(KS)
    for point in curve.points:
        q = quantize(tiny, point.n_colors, seed=0)
        direct = encode(q.indices, q.palette, output_format="png", png_optimize_level=None)
        assert point.estimated_bytes == point.preview_bytes == len(direct)
        assert point.n_colors_used == len(q.palette)
        assert point.inertia == pytest.approx(q.inertia, rel=1e-4)


@pytest.mark.parametrize("fmt", ["png", "webp", "gif"])
def test_exact_sizes_match_what_compress_writes(tiny, fmt):
    data = encode_png(tiny)
    curve = size_curve(data, (4, 16), options=CompressOptions(output_format=fmt))
    for point in curve.points:
        result = compress(data, CompressOptions(n_colors=point.n_colors, output_format=fmt))
        assert point.estimated_bytes == len(result.data)


def test_geometry_is_applied_before_measuring(tiny):
    data = encode_png(tiny)
    options = CompressOptions(crop_box=CropBox(x=4, y=2, width=30, height=20), resize_mode="fit", width=15, height=15)
    curve = size_curve(data, (8,), options=options)
    result = compress(data, CompressOptions(n_colors=8, crop_box=options.crop_box, resize_mode="fit", width=15, height=15))
    assert (curve.width, curve.height) == (result.width, result.height) == (15, 10)
    assert curve.points[0].estimated_bytes == len(result.data)


def test_dithering_and_alpha_are_honoured():
    rgba = np.dstack([photo_like(32, 32, seed=2), np.full((32, 32), 255, np.uint8)])
    rgba[:8, :8, 3] = 0  # a transparent corner
    data = encode_png(Image.fromarray(rgba, "RGBA"))
    plain = size_curve(data, (4,), options=CompressOptions())
    dithered = size_curve(data, (4,), options=CompressOptions(dither=1.0))
    result = compress(data, CompressOptions(n_colors=4, dither=1.0))
    assert dithered.points[0].estimated_bytes == len(result.data)
    assert dithered.points[0].estimated_bytes != plain.points[0].estimated_bytes
    assert plain.points[0].n_colors_used <= 4


@pytest.fixture(scope="module")
def photo(corpus_dir):
    return (corpus_dir / "photos/kodim23.png").read_bytes()  # 768x512


def test_large_image_is_estimated_from_full_resolution_tiles(photo):
    curve = size_curve(photo, (2, 4, 8, 16, 32, 64), options=CompressOptions(), max_preview_pixels=65_536)
    assert not curve.exact
    assert (curve.width, curve.height) == (768, 512)
    assert curve.preview_width * curve.preview_height <= 65_536
    assert curve.n_tiles >= 12 and curve.sample_pixels == curve.n_tiles * TILE_SIDE * TILE_SIDE <= 65_536
    sizes = [p.estimated_bytes for p in curve.points]
    errors = [p.inertia for p in curve.points]
    # More colours: bigger files and smaller errors.
    assert sizes == sorted(sizes) and sizes[-1] > 4 * sizes[0], sizes
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0] / 10, errors
    # The estimate is close to what compress really writes (measured: within 5-22 % on Kodak photos).
    for point in curve.points[1:5]:
        actual = len(compress(photo, CompressOptions(n_colors=point.n_colors)).data)
        assert 0.7 * actual <= point.estimated_bytes <= 1.35 * actual, (point, actual)


def test_estimate_scales_the_sample_by_the_pixel_ratio():
    """A uniform texture (independent noise: a repeated tile would let deflate find the repeats):
    every tile is typical, so twice the pixels is about twice the bytes."""
    texture = noise(200, 150, seed=4)
    options = CompressOptions()
    small = size_curve(encode_png(texture), (8,), options=options, max_preview_pixels=8_192)
    large = size_curve(encode_png(noise(400, 150, seed=5)), (8,), options=options, max_preview_pixels=8_192)
    assert small.sample_pixels == large.sample_pixels == 2 * TILE_SIDE * TILE_SIDE
    ratio = large.points[0].estimated_bytes / small.points[0].estimated_bytes
    assert 1.8 < ratio < 2.2, ratio
    actual = len(compress(encode_png(texture), CompressOptions(n_colors=8)).data)
    assert small.points[0].estimated_bytes == pytest.approx(actual, rel=0.1)


def test_noise_costs_more_than_a_gradient():
    smooth = size_curve(encode_png(gradient(64, 64)), (16,), options=CompressOptions()).points[0]
    rough = size_curve(encode_png(noise(64, 64)), (16,), options=CompressOptions()).points[0]
    assert rough.estimated_bytes > 2 * smooth.estimated_bytes


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"ks": []}, "ks must be"),
        ({"ks": [1]}, "k=1"),
        ({"ks": [300]}, "k=300"),
        ({"ks": [True]}, "k=True"),
        ({"max_preview_pixels": 100}, "max_preview_pixels=100"),
        ({"options": {"n_colors": 4}}, "options must be CompressOptions"),
    ],
)
def test_bad_arguments_are_refused_with_their_values(tiny, kwargs, words):
    arguments = {"ks": KS, "options": CompressOptions(), **kwargs}
    with pytest.raises(InvalidOptions, match=words):
        size_curve(encode_png(tiny), arguments.pop("ks"), **arguments)


def test_crop_outside_the_image_is_invalid_options(tiny):
    with pytest.raises(InvalidOptions, match="outside"):
        size_curve(encode_png(tiny), KS, options=CompressOptions(crop_box=CropBox(x=30, y=0, width=20, height=10)))


def test_to_dict_is_json_ready(tiny):
    data = size_curve(io.BytesIO(encode_png(tiny)), (2, 4), options=CompressOptions()).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["exact"] is True and data["points"][0]["n_colors"] == 2


def test_curves_module_pulls_in_no_django():
    code = (
        "import json, sys\n"
        "import compression.engine.curves\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('django'))))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
