"""Decoding untrusted bytes, normalisation to sRGB uint8, and indexed encoding."""

import io
import time
import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms

from compression.engine import ImageTooLarge, InvalidImage, UnsupportedFormat
from compression.engine.decode import decode, normalize
from compression.engine.encode import png_bit_depth
from compression.engine.encode import encode
from tests.helpers import (
    assert_image_similar,
    encode_as,
    encode_png,
    mean_abs_diff,
    png_chunks,
    png_ihdr,
    solid,
    stripes,
)

LIMIT = 50_000_000


def decode_file(path, max_pixels=LIMIT):
    return decode(path.read_bytes(), max_pixels=max_pixels)


def normalized(path):
    return normalize(decode_file(path))


# ----------------------------------------------------------------------------- decode


def test_pixel_limit_is_checked_from_the_header_with_both_numbers():
    data = encode_png(solid(100, 80))
    with pytest.raises(ImageTooLarge) as excinfo:
        decode(data, max_pixels=7_999)
    assert "100x80" in str(excinfo.value) and "8,000" in str(excinfo.value) and "7,999" in str(excinfo.value)
    assert decode(data, max_pixels=8_000).width == 100


def test_pillow_bomb_error_becomes_image_too_large_without_leaking_global_state(corpus_image):
    filters_before = list(warnings.filters)
    limit_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLarge, match="4,294,967,296 pixels"):
        decode_file(corpus_image("bad/bomb_65536x65536.png"))
    assert warnings.filters == filters_before
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_pillows_hard_limit_still_applies_above_ours(corpus_image):
    # Above our limit Pillow's hard limit (2 x MAX_IMAGE_PIXELS) still refuses; the message says so.
    with pytest.raises(ImageTooLarge, match="280,000,000 pixels; the limit is 178,956,970") as excinfo:
        decode_file(corpus_image("bad/bomb_20000x14000.jpg"), max_pixels=300_000_000)
    assert "300,000,000" not in str(excinfo.value)  # never "280 M exceeds a limit of 300 M"


def test_accepts_a_binary_file_object():
    decoded = decode(io.BytesIO(encode_png(solid(5, 4))), max_pixels=LIMIT)
    assert (decoded.width, decoded.height, decoded.format) == (5, 4, "PNG")


@pytest.mark.parametrize(
    "data, error, words",
    [
        (b"", InvalidImage, "empty"),
        (b"just some words\n", InvalidImage, "text"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", InvalidImage, "HTML"),
        (b"%PDF-1.4\n...", UnsupportedFormat, "PDF"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedFormat, "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", UnsupportedFormat, "HEIC"),
        (b"8BPS\x00\x01" + bytes(40), UnsupportedFormat, "PSD"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", UnsupportedFormat, "EPS"),
        (b"\x89PNG\r\n\x1a\n" + bytes(30), InvalidImage, "image"),
    ],
)
def test_rejects_non_images_with_a_typed_error(data, error, words):
    with pytest.raises(error, match=words):
        decode(data, max_pixels=LIMIT)


def test_truncated_png_is_an_error_not_a_half_black_image(corpus_image):
    with pytest.raises(InvalidImage, match="truncated"):
        decode_file(corpus_image("bad/truncated_half_kodim01.png"))


def test_heic_names_the_format(corpus_image):
    with pytest.raises(UnsupportedFormat, match="HEIC images are not supported; export as JPEG or PNG"):
        decode_file(corpus_image("formats/heic_IMG_2682.heic"))


def test_mislabelled_file_is_detected_from_its_bytes(corpus_image):
    assert decode_file(corpus_image("formats/mislabelled_jpeg_bytes.png")).format == "JPEG"


def test_animated_gif_uses_the_first_frame_and_says_so(corpus_image):
    decoded = decode_file(corpus_image("formats/animated_3_frames.gif"))
    assert decoded.n_frames == 3
    assert "animated GIF: only the first of 3 frames was used" in decoded.warnings


# ----------------------------------------------------------------------------- normalise


def test_exif_orientation_is_applied(corpus_image):
    decoded = decode_file(corpus_image("formats/exif_orientation_6.jpg"))
    assert (decoded.width, decoded.height) == (1200, 1800)  # stored
    pixels = normalize(decoded)
    assert pixels.shape == (1200, 1800, 3)  # displayed: 1800 wide, 1200 high
    stored = np.asarray(decoded.image)
    # Orientation 6 = rotate 90° clockwise for display: the stored bottom-left is displayed top-left.
    assert np.array_equal(pixels, np.rot90(stored, k=-1))


def test_rgb16_png_reduces_to_the_8_bit_original_exactly(corpus_image):
    pixels = normalized(corpus_image("formats/rgb16_kodim23.png"))
    assert np.array_equal(pixels, np.asarray(Image.open(corpus_image("photos/kodim23.png"))))


def test_display_p3_is_converted_to_srgb(corpus_image):
    reference = np.asarray(Image.open(corpus_image("photos/kodim23.png")))
    path = corpus_image("formats/icc_display_p3_kodim23.jpg")
    naive = np.asarray(Image.open(path).convert("RGB"))
    assert mean_abs_diff(naive, reference) > 4.0  # ignoring the profile is visibly wrong
    assert_image_similar(normalized(path), reference, 2.5)  # JPEG q95 noise only


def test_cmyk_with_profile_goes_through_the_profile(corpus_image):
    path = corpus_image("formats/cmyk_with_swop_profile.jpg")
    image = Image.open(path)
    reference = ImageCms.profileToProfile(
        image,
        ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"])),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
        outputMode="RGB",
    )
    ours = normalized(path)
    assert_image_similar(ours, reference, 0.5)
    assert mean_abs_diff(ours, image.convert("RGB")) > 8  # naive conversion differs a lot


def test_cmyk_without_profile_falls_back_with_a_warning(corpus_image):
    decoded = decode_file(corpus_image("formats/cmyk_no_profile.jpg"))
    pixels = normalize(decoded)
    assert pixels.shape == (100, 100, 3)
    assert np.array_equal(pixels, np.asarray(decoded.image.convert("RGB")))
    assert any("CMYK" in w for w in decoded.warnings)


@pytest.mark.parametrize(
    "name", ["formats/palette_trns_pngsuite_tbbn3p08.png", "formats/palette_trns_single_index.png"]
)
def test_palette_with_trns_becomes_rgba(corpus_image, name):
    path = corpus_image(name)
    pixels = normalized(path)
    assert pixels.shape[-1] == 4
    assert (pixels[..., 3] == 0).any()
    assert np.array_equal(pixels, np.asarray(Image.open(path).convert("RGBA")))


def test_single_transparent_index_is_the_transparent_colour(corpus_image):
    path = corpus_image("formats/palette_trns_single_index.png")
    image = Image.open(path)
    transparent = np.asarray(image) == image.info["transparency"]
    pixels = normalized(path)
    assert transparent.any()
    assert (pixels[transparent, 3] == 0).all() and (pixels[~transparent, 3] == 255).all()


def test_grey_and_grey_alpha_modes(corpus_image):
    grey = normalized(corpus_image("formats/gray8_flower_foveon.png"))
    assert grey.shape[-1] == 3 and np.array_equal(grey[..., 0], grey[..., 2])
    grey_alpha = normalized(corpus_image("formats/gray_alpha_LA.png"))
    assert grey_alpha.shape == (300, 400, 4)
    assert np.array_equal(grey_alpha[..., 0], grey_alpha[..., 1])


def test_linear_16_bit_grey_is_stretched_not_clipped(corpus_image):
    decoded = decode_file(corpus_image("formats/gray16_linear_flower_foveon.png"))
    raw = np.asarray(decoded.image)
    pixels = normalize(decoded)[..., 0]
    assert pixels.min() == 0 and pixels.max() == 255
    assert (pixels == 255).mean() < 0.001  # convert("L") would make 52% white
    brightest = np.unravel_index(np.argmax(raw), raw.shape)
    assert pixels[brightest] == 255
    assert any("stretched" in op for op in decoded.operations)


def test_fully_opaque_alpha_is_dropped():
    rgba = solid(6, 4, (10, 20, 30, 255))
    assert normalize(decode(encode_png(rgba), max_pixels=LIMIT)).shape == (4, 6, 3)
    rgba[0, 0, 3] = 254
    assert normalize(decode(encode_png(rgba), max_pixels=LIMIT)).shape == (4, 6, 4)


# ----------------------------------------------------------------------------- encode


@pytest.mark.parametrize("k, bits", [(2, 1), (3, 2), (4, 2), (5, 4), (16, 4), (17, 8), (256, 8)])
def test_png_uses_the_smallest_bit_depth(k, bits):
    rng = np.random.default_rng(k)
    palette = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    indices = (np.arange(40 * 30) % k).astype(np.uint8).reshape(30, 40)
    data = encode(indices, palette)
    assert png_bit_depth(k) == bits
    assert png_ihdr(data) == {"width": 40, "height": 30, "bit_depth": bits, "color_type": 3}
    image = Image.open(io.BytesIO(data))
    assert image.mode == "P"
    assert np.array_equal(np.asarray(image.convert("RGB")), palette[indices])
    assert len(image.getcolors()) <= k


@pytest.mark.parametrize("k", [2, 4, 16, 256])
@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 9, 13])
def test_png_packs_every_width_and_depth_exactly(k, width):
    rng = np.random.default_rng(width * 1000 + k)
    palette = rng.integers(0, 256, (k, 3), dtype=np.uint8)
    indices = rng.integers(0, k, (3, width), dtype=np.uint8)
    image = Image.open(io.BytesIO(encode(indices, palette)))
    assert image.mode == "P" and image.size == (width, 3)
    assert np.array_equal(np.asarray(image), indices)
    assert np.array_equal(np.asarray(image.convert("RGB")), palette[indices])


def test_png_rows_use_filter_none():
    import zlib

    rng = np.random.default_rng(11)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    indices = rng.integers(0, 16, (37, 21), dtype=np.uint8)
    data = encode(indices, palette)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), indices)
    idat = b"".join(body for kind, body in png_chunks(data) if kind == b"IDAT")
    scanlines = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(37, 1 + 11)
    assert not scanlines[:, 0].any()  # filter type None on every row


def test_png_keeps_exif_only_when_given():
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "Camera maker"
    palette = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    indices = np.eye(4, dtype=np.uint8)
    kept = Image.open(io.BytesIO(encode(indices, palette, strip_metadata=False, exif=exif.tobytes())))
    assert kept.getexif().get(0x010F) == "Camera maker"
    assert [kind for kind, _ in png_chunks(encode(indices, palette, strip_metadata=False, exif=exif.tobytes()))] == [
        b"IHDR", b"PLTE", b"eXIf", b"IDAT", b"IEND"
    ]
    stripped = encode(indices, palette, exif=exif.tobytes())  # strip_metadata defaults to True
    assert b"eXIf" not in {kind for kind, _ in png_chunks(stripped)}


def test_png_with_alpha_palette_writes_trns_and_round_trips():
    palette = np.array([[0, 0, 0, 0], [255, 0, 0, 128], [0, 255, 0, 255]], dtype=np.uint8)
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    data = encode(indices, palette)
    kinds = [kind for kind, _ in png_chunks(data)]
    assert kinds == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")), palette[indices])


def test_webp_is_lossless():
    palette = np.array([[10, 20, 30, 255], [200, 100, 50, 90], [0, 0, 0, 0]], dtype=np.uint8)
    indices = (np.arange(64 * 48) % 3).astype(np.uint8).reshape(48, 64)
    data = encode(indices, palette, output_format="webp")
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    visible = palette[indices][..., 3] > 0
    assert np.array_equal(decoded[visible], palette[indices][visible])
    assert (decoded[~visible, 3] == 0).all()


def test_gif_keeps_one_bit_transparency_thresholded_at_half():
    palette = np.array([[9, 9, 9, 0], [255, 0, 0, 100], [0, 255, 0, 200], [0, 0, 255, 255]], dtype=np.uint8)
    indices = np.array([[0, 1, 2, 3]], dtype=np.uint8)
    image = Image.open(io.BytesIO(encode(indices, palette, output_format="gif"))).convert("RGBA")
    pixels = np.asarray(image)
    assert list(pixels[0, :, 3]) == [0, 0, 255, 255]  # alpha 100 < 128 -> transparent; 200 -> opaque
    assert pixels[0, 2, :3].tolist() == [0, 255, 0] and pixels[0, 3, :3].tolist() == [0, 0, 255]


def test_oxipng_level_is_lossless_and_not_larger():
    palette = stripes(8, 1, [(i * 30, 255 - i * 30, 7 * i) for i in range(8)])[0]
    indices = (np.add.outer(np.arange(64), np.arange(64)) // 8 % 8).astype(np.uint8)
    plain = encode(indices, palette)
    optimized = encode(indices, palette, png_optimize_level=2)
    assert len(optimized) <= len(plain)
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(optimized)).convert("RGB")), palette[indices]
    )


def test_output_has_no_metadata(corpus_image):
    # The corpus JPEG carries ICC + XMP; our encoder starts from bare indices and writes none.
    decoded = decode_file(corpus_image("formats/icc_adobe_rgb_1998.jpg"))
    assert "icc_profile" in decoded.image.info
    pixels = normalize(decoded)[:32, :32]
    palette = np.unique(pixels.reshape(-1, 3), axis=0)[:4]
    indices = np.zeros((32, 32), dtype=np.uint8)
    for fmt in ("png", "webp", "gif"):
        data = encode(indices, palette, output_format=fmt)
        info = Image.open(io.BytesIO(data)).info
        assert not {"icc_profile", "exif", "xmp"} & set(info), (fmt, info.keys())
    kinds = {kind for kind, _ in png_chunks(encode(indices, palette, png_optimize_level=2))}
    assert kinds <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def test_encode_input_from_other_formats_round_trips():
    data = encode_as(solid(8, 8, (1, 2, 3)), "BMP")
    assert normalize(decode(data, max_pixels=LIMIT))[0, 0].tolist() == [1, 2, 3]


def test_every_bad_file_is_refused_fast(corpus_image, corpus_dir):
    # Detailed per-file checks are in test_corpus; this guards the timing of the slowest kinds.
    start = time.perf_counter()
    for name in ("bomb_20000x14000.jpg", "bomb_65536x65536.png", "bomb_ztxt_text_chunk.png"):
        with pytest.raises((ImageTooLarge, InvalidImage)):
            decode_file(corpus_image(f"bad/{name}"))
    assert time.perf_counter() - start < 1.0


def test_16_bit_grey_declared_linear_is_srgb_encoded():
    import struct

    from PIL import PngImagePlugin

    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", 100_000))  # gamma 1.0: linear light
    linear = encode_png(Image.fromarray(values), pnginfo=info)
    assert normalized_bytes(linear)[0, :, 0].tolist() == [0, 188, 255]  # sRGB(0.5) = 188
    assert normalized_bytes(encode_png(Image.fromarray(values)))[0, :, 0].tolist() == [0, 128, 255]


def normalized_bytes(data):
    return normalize(decode(data, max_pixels=LIMIT))
