"""The shared corpus: every format edge case compresses, every hostile file is refused fast."""

import io
import time

import numpy as np
import pytest
from PIL import Image

from compression.engine import (
    CompressOptions,
    EngineError,
    ImageTooLarge,
    InvalidImage,
    UnsupportedFormat,
    compress,
)
from tests.conftest import CORPUS

NOT_IMAGES = {"imagecompression.info-NOTICE.txt"}
UNSUPPORTED = {"heic_IMG_2682.heic"}
FORMAT_FILES = sorted(
    p.name for p in (CORPUS / "formats").glob("*") if p.name not in NOT_IMAGES | UNSUPPORTED
)
BAD_FILES = {
    "bomb_20000x14000.jpg": ImageTooLarge,
    "bomb_65536x65536.png": ImageTooLarge,
    "bomb_gif_65535x66601.gif": ImageTooLarge,
    "bomb_ztxt_text_chunk.png": InvalidImage,
    "document_ISO_12233-reschart.pdf": UnsupportedFormat,
    "empty.png": InvalidImage,
    "html_named.jpg": InvalidImage,
    "pillow_broken.png": InvalidImage,
    "pillow_truncated_image.png": InvalidImage,
    "pillow_truncated_jpeg.jpg": InvalidImage,
    "sharp_corrupt_header.jpg": InvalidImage,
    "text_named.png": InvalidImage,
    "truncated_half_baseline.jpg": InvalidImage,
    "truncated_half_kodim01.png": InvalidImage,
    "truncated_half_progressive.jpg": InvalidImage,
    "vector_noto_emoji_u1f600.svg": UnsupportedFormat,
}
# Keep the run fast: large inputs are still decoded in full, then fitted into this box.
SMALL = {"resize_mode": "fit", "width": 256, "height": 256}


def test_the_lists_cover_the_corpus():
    assert FORMAT_FILES and set(BAD_FILES) == {p.name for p in (CORPUS / "bad").glob("*")}


@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_format_file_compresses(corpus_image, name):
    result = compress(corpus_image(f"formats/{name}").read_bytes(), CompressOptions(n_colors=16, **SMALL))
    image = Image.open(io.BytesIO(result.data))
    assert image.format == "PNG" and image.mode == "P"
    assert max(image.size) <= 256 and (result.width, result.height) == image.size
    assert len(image.getcolors()) <= 16
    assert result.stats.psnr > 15
    if name.endswith(".avif"):  # Pillow 13 decodes AVIF natively: accepted on purpose
        assert result.stats.input_format == "AVIF"


def test_heic_is_unsupported(corpus_image):
    with pytest.raises(UnsupportedFormat, match="HEIC"):
        compress(corpus_image("formats/heic_IMG_2682.heic").read_bytes(), CompressOptions())


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_bad_file_raises_a_typed_error_within_a_second(corpus_image, name):
    data = corpus_image(f"bad/{name}").read_bytes()
    start = time.perf_counter()
    with pytest.raises(EngineError) as excinfo:
        compress(data, CompressOptions())
    elapsed = time.perf_counter() - start
    assert type(excinfo.value) is BAD_FILES[name]
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"
    assert len(str(excinfo.value)) > 10  # a sentence for a person, not an empty error


def test_exif_rotation_gives_1800x1200(corpus_image):
    result = compress(corpus_image("formats/exif_orientation_6.jpg").read_bytes(), CompressOptions(n_colors=4))
    assert (result.width, result.height) == (1800, 1200)
    assert (result.stats.original_width, result.stats.original_height) == (1800, 1200)


def test_palette_alpha_input_keeps_its_transparency(corpus_image):
    path = corpus_image("formats/palette_alpha_noto_butterfly.png")
    original = np.asarray(Image.open(path).convert("RGBA"))
    result = compress(path.read_bytes(), CompressOptions(n_colors=64))
    out = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGBA"))
    assert np.array_equal(out[..., 3] == 0, original[..., 3] == 0)


def test_animated_input_warns(corpus_image):
    result = compress(corpus_image("formats/animated_42_frames.gif").read_bytes(), CompressOptions())
    assert "animated GIF: only the first of 42 frames was used" in result.stats.warnings
    assert result.stats.input_frames == 42
