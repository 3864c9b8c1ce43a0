"""Decode untrusted image bytes safely and normalise them to sRGB uint8.

Decoding policy (every choice here is deliberate and tested):

* The format is detected from the bytes, never from a file name. Only the raster formats in
  `DECODE_FORMATS` are handed to Pillow; formats that run external programs or that we do not
  rasterise (EPS, SVG, PDF, HEIC, PSD) are refused with `UnsupportedFormat`.
* The pixel limit is checked from the header, before any pixel is decoded. Pillow's own
  decompression-bomb error becomes `ImageTooLarge`; Pillow's warning is silenced only inside
  `decode` (the engine's own limit replaces it), so no global state changes.
* Truncated files are errors (`ImageFile.LOAD_TRUNCATED_IMAGES` is never set).
* Animated images: the first frame is used, with a warning.
* EXIF orientation is applied. Embedded ICC profiles are converted to sRGB (CMYK through its profile;
  CMYK without a profile uses Pillow's naive conversion, with a warning).
* 16-bit (and 32-bit) greyscale (`I;16`, `I`, `F`): the used range is stretched linearly so the
  darkest value becomes 0 and the brightest 255. Such files are often linear-light scientific or raw
  data with a small range (the corpus flower uses 27-4273 of 65535), where clipping at 255 or
  dividing by 257 both destroy the picture. When the PNG declares gamma 1.0 the stretched values are
  then sRGB-encoded. 16-bit RGB(A) is reduced to 8 bits by Pillow (high byte), which is exact for
  files widened by x257.
* Output of normalisation is RGB when every pixel is opaque (an all-255 alpha is dropped), else RGBA.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from .colorspace import linear_to_srgb
from .errors import ImageTooLarge, InvalidImage, UnsupportedFormat

# Raster formats we let Pillow open. EPS is excluded on purpose: Pillow runs Ghostscript for it.
DECODE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP", "AVIF", "ICO", "PPM")
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "AVIF")  # others with several frames are multi-page
FULLY_OPAQUE = 255
CONVERT_STRIP_PIXELS = 1 << 20  # pixels per strip when copying a Pillow image into numpy
# Peak memory of decode + normalise + to_array per pixel: Pillow's 4-byte decoded pixel, a 4-byte
# sRGB conversion and the 3-4 byte array. Measured peaks of a capped child at 50 MP, above its
# ~30 MB start: 7 (RGB JPEG), 8 (CMYK JPEG), 10 (RGBA PNG) bytes a pixel; 12 leaves a margin for
# address space reserved beyond what is touched (the cap counts address space, not RSS).
DECODE_BYTES_PER_PIXEL = 12
SNIFF_BYTES = 512  # how much of the head of a file the magic-byte checks look at
EXIF_ORIENTATION_TAG = 0x0112
QUARTER_TURNS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
LINEAR_GAMMA_TOLERANCE = 0.05  # PNG gAMA within this of 1.0 counts as linear light
HIGH_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
SRGB_PROFILE_NAMES = ("srgb", "c2")  # descriptions of embedded profiles we treat as sRGB already
_PIXELS_IN_MESSAGE = re.compile(r"\((\d+) pixels\)")

# HEIF brands (ISO BMFF "ftyp"): HEIC/HEIF is refused, AVIF is decoded by Pillow.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


@dataclass
class DecodedImage:
    """A decoded (pixels loaded) first frame plus what we learned about the file.

    `image` is a Pillow image in its original mode; `width`/`height` are the stored size (before
    EXIF orientation); `warnings` collects human-readable notes for the result statistics.
    """

    image: Image.Image
    format: str  # Pillow's format name, e.g. "JPEG"
    mode: str  # the mode Pillow decoded, e.g. "CMYK", "I;16", "P"
    width: int
    height: int
    n_frames: int
    warnings: list[str] = field(default_factory=list)  # problems worth telling the user
    operations: list[str] = field(default_factory=list)  # what normalisation did, in order


def read_source(source: bytes | bytearray | memoryview | BinaryIO) -> bytes:
    """The bytes of `source` (bytes-like, or a binary file object read to its end)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidImage("The upload could not be read as binary data.")
        return bytes(data)
    raise TypeError(f"source must be bytes or a binary file object, not {type(source).__name__}")


def sniff_unsupported(head: bytes) -> str | None:
    """Name a known non-raster or unsupported format from its magic bytes, or None.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at least a few hundred for text formats).
    """
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"%!PS") or head.startswith(b"\xc5\xd0\xd3\xc6"):
        return "EPS"
    if head.startswith(b"8BPS"):
        return "PSD"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if head[8:12] not in _AVIF_BRANDS and brands & _HEIF_BRANDS:
            return "HEIC"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "SVG"
    return None


def _looks_like_text(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML page"
    if head[:1] == b"P" and head[1:2] in b"1234567":
        return None  # Netpbm (PPM/PGM/PBM) headers, even the all-ASCII variants, are images
    if head and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        return "a text file"
    return None


_UNSUPPORTED_ADVICE = {
    "HEIC": "HEIC images are not supported; export as JPEG or PNG.",
    "SVG": "SVG (vector) images are not supported; export the drawing as PNG.",
    "PDF": "PDF documents are not supported; export the page as PNG or JPEG.",
    "EPS": "EPS/PostScript files are not supported; export as PNG or JPEG.",
    "PSD": "Photoshop (PSD) files are not supported; export as PNG or JPEG.",
}


def decode(source: bytes | BinaryIO, *, max_pixels: int, max_decode_bytes: int | None = None) -> DecodedImage:
    """Decode the first frame of an untrusted image, checking the pixel limit first.

    Parameters
    ----------
    source : bytes or binary file object
        The encoded image. The format is detected from the bytes.
    max_pixels : int
        The largest width*height accepted; checked from the header before pixels are decoded.
    max_decode_bytes : int or None
        If given, refuse (ImageTooLarge) an image whose decode and normalisation would need more
        memory than this, estimated from the header at DECODE_BYTES_PER_PIXEL.

    Returns
    -------
    DecodedImage

    Raises
    ------
    InvalidImage
        Empty, truncated, corrupt, or not an image (text, HTML, metadata bomb).
    UnsupportedFormat
        A recognised file type we do not decode (HEIC, SVG, PDF, EPS, PSD, ...).
    ImageTooLarge
        More pixels than `max_pixels` (or than Pillow's decompression-bomb hard limit).
    """
    data = read_source(source)
    if not data:
        raise InvalidImage("The file is empty.")
    head = data[:SNIFF_BYTES]
    unsupported = sniff_unsupported(head)
    if unsupported:
        raise UnsupportedFormat(_UNSUPPORTED_ADVICE[unsupported])
    text_kind = _looks_like_text(head)
    if text_kind:
        raise InvalidImage(f"This is {text_kind}, not an image.")

    with warnings.catch_warnings():
        # Our own limit (max_pixels) replaces Pillow's soft warning; its hard error still applies.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=DECODE_FORMATS)
        except Image.DecompressionBombError as exc:
            found = _PIXELS_IN_MESSAGE.search(str(exc))
            count = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
            limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
            raise ImageTooLarge(f"The image has {count}; the limit is {limit:,} pixels.") from exc
        except UnidentifiedImageError as exc:
            raise InvalidImage(
                "The file is not an image we can read (supported: PNG, JPEG, GIF, WebP, TIFF, BMP, AVIF)."
            ) from exc
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError) as exc:
            # e.g. "Truncated File Read" on a corrupt header, or the zTXt metadata bomb (ValueError).
            raise InvalidImage(f"The image header is corrupt or unreadable ({exc}).") from exc

        width, height = image.size
        if width <= 0 or height <= 0:
            raise InvalidImage(f"The image has an invalid size {width}x{height}.")
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"The image is {width}x{height} = {width * height:,} pixels; "
                f"the limit is {max_pixels:,} pixels."
            )
        needed = width * height * DECODE_BYTES_PER_PIXEL
        if max_decode_bytes is not None and needed > max_decode_bytes:
            raise ImageTooLarge(
                f"Decoding this {width}x{height} image needs about {needed >> 20:,} MB; "
                f"{max(0, max_decode_bytes) >> 20:,} MB are allowed."
            )
        try:
            n_frames = getattr(image, "n_frames", 1) or 1
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"The image has too many pixels; the limit is {max_pixels:,}.") from exc
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError, MemoryError) as exc:
            raise InvalidImage(f"The image data is truncated or corrupt ({exc}).") from exc

    notes: list[str] = []
    if n_frames > 1:
        kind = "animated" if image.format in ANIMATED_FORMATS else "multi-image"
        notes.append(f"{kind} {image.format}: only the first of {n_frames} frames was used")
    return DecodedImage(
        image=image,
        format=image.format or "unknown",
        mode=image.mode,
        width=width,
        height=height,
        n_frames=n_frames,
        warnings=notes,
    )


# --------------------------------------------------------------------------- normalisation


def _stretch_high_bit_grey(image: Image.Image, notes: list[str]) -> Image.Image:
    """Stretch I;16/I/F greyscale's used range to 0-255 (see the module docstring); notes: operations."""
    values = np.asarray(image)
    if values.dtype.kind == "f":
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    stretched = (values.astype(np.float32) - low) / span
    gamma = image.info.get("gamma")
    if gamma is not None and abs(float(gamma) - 1.0) < LINEAR_GAMMA_TOLERANCE:
        stretched = linear_to_srgb(stretched) / 255.0
        notes.append(f"linear {image.mode} greyscale: used range {low:g}-{high:g} stretched and sRGB-encoded")
    else:
        notes.append(
            f"{image.mode} greyscale: used range {low:g}-{high:g} stretched to 0-255"
        )
    grey = np.clip(np.rint(stretched * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(grey)


def _to_srgb(image: Image.Image, profile_bytes: bytes | None, notes: list[str], ops: list[str]) -> Image.Image:
    """Convert an RGB(A)/CMYK image with an embedded profile to sRGB; pass others through."""
    if not profile_bytes:
        if image.mode == "CMYK":
            notes.append("CMYK image without a colour profile: colours converted naively")
            return image.convert("RGB")
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes))
        space = profile.profile.xcolor_space.strip()
        description = (profile.profile.profile_description or "").strip().lower()
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError) as exc:
        notes.append(f"embedded colour profile could not be read ({exc}); assumed sRGB")
        return image.convert("RGB") if image.mode == "CMYK" else image
    if image.mode == "CMYK" and space != "CMYK" or image.mode in ("RGB", "RGBA") and space != "RGB":
        notes.append(f"embedded colour profile ({space}) does not match the {image.mode} pixels; ignored")
        return image.convert("RGB") if image.mode == "CMYK" else image
    if image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    if image.mode != "CMYK" and description.startswith(SRGB_PROFILE_NAMES):
        return image  # already sRGB: skip a full-image transform
    out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        converted = ImageCms.profileToProfile(
            image,
            profile,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=out_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        notes.append(f"colour profile conversion failed ({exc}); colours converted naively")
        return image.convert(out_mode)
    ops.append(f"converted from the embedded colour profile '{description or space}' to sRGB")
    return converted


def normalize_image(decoded: DecodedImage) -> Image.Image:
    """Return the decoded frame as an sRGB Pillow image in mode "RGB" or "RGBA".

    Applies EXIF orientation, ICC-to-sRGB conversion and the mode policy in the module docstring.
    Problems are appended to `decoded.warnings`, what was done to `decoded.operations`. An alpha
    channel that is 255 everywhere is dropped.
    """
    image = decoded.image
    notes = decoded.warnings
    ops = decoded.operations
    profile_bytes = image.info.get("icc_profile")
    mode = image.mode

    if mode in HIGH_BIT_GREY_MODES:
        image = _stretch_high_bit_grey(image, ops)
        mode = image.mode
        profile_bytes = None  # a grey profile does not apply to the stretched values
    if mode == "P":
        has_alpha = "transparency" in image.info or image.palette.mode == "RGBA"
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("PA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode in ("1", "L"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image, profile_bytes, notes, ops)
    elif mode == "RGBX":
        image = image.convert("RGB")
    else:  # YCbCr, LAB, HSV, ...
        try:
            image = image.convert("RGB")
        except (ValueError, OSError) as exc:
            raise InvalidImage(f"Images in colour mode {mode} are not supported.") from exc

    if image.mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")
    image = _apply_orientation_from(decoded.image, image, notes, ops)
    if image.mode == "RGBA" and image.getextrema()[3][0] == FULLY_OPAQUE:
        image = image.convert("RGB")
    return image


def _apply_orientation_from(
    source: Image.Image, image: Image.Image, notes: list[str], ops: list[str]
) -> Image.Image:
    """Apply the EXIF orientation of `source` (the decoded frame) to `image` (its conversion)."""
    try:
        orientation = source.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - malformed EXIF must never fail a decode
        notes.append("EXIF data could not be read; orientation ignored")
        return image
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    if method is None:
        return image
    ops.append(f"rotated according to the EXIF orientation ({orientation})")
    return image.transpose(method)


def to_array(image: Image.Image, out: np.ndarray | None = None) -> np.ndarray:
    """Copy an RGB/RGBA Pillow image into a new uint8 array (or into `out`), strip by strip.

    `np.asarray(image)` goes through `tobytes()`, which joins encoded chunks into one bytes object
    and so briefly holds two full copies next to the image; strips keep the extra memory small.
    `out` (uint8, shape (H, W, C)) lets the capped decode write straight into shared memory.

    Returns
    -------
    ndarray of uint8, shape (H, W, C), C = number of bands
    """
    width, height = image.size
    if out is None:
        out = np.empty((height, width, len(image.getbands())), dtype=np.uint8)
    rows = max(1, CONVERT_STRIP_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = np.asarray(image.crop((0, top, width, bottom))).reshape(bottom - top, width, -1)
    return out


def normalize(decoded: DecodedImage) -> np.ndarray:
    """Return the decoded frame as sRGB pixels.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3) when fully opaque, else (H, W, 4)
    """
    return to_array(normalize_image(decoded))


def output_exif(decoded: DecodedImage) -> bytes | None:
    """The input's EXIF with the orientation reset (the pixels are already rotated), or None."""
    try:
        exif = decoded.image.getexif()
        if not exif:
            return None
        if EXIF_ORIENTATION_TAG in exif:
            exif[EXIF_ORIENTATION_TAG] = 1
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - metadata we cannot re-encode is dropped, not fatal
        return None


@dataclass(frozen=True)
class ImageInfo:
    """What an upload is, from a full decode of its first frame."""

    format: str  # lower case, e.g. "jpeg"
    width: int  # as displayed: EXIF orientation applied (what crop boxes refer to)
    height: int
    n_frames: int


def probe(source: bytes | BinaryIO, *, max_pixels: int, max_decode_bytes: int | None = None) -> ImageInfo:
    """Decode an untrusted image (refusing it as `decode` does) and say what it is.

    The first frame is decoded in full, so truncated or corrupt files are refused here, not later.
    `max_decode_bytes` is the full decode's estimate, as in `decode`, so an upload that passes
    here does not fail for memory in its job.
    """
    decoded = decode(source, max_pixels=max_pixels, max_decode_bytes=max_decode_bytes)
    try:
        width, height = decoded.width, decoded.height
        try:
            orientation = decoded.image.getexif().get(EXIF_ORIENTATION_TAG)
        except Exception:  # noqa: BLE001 - malformed EXIF: shown unrotated, as normalize_image does
            orientation = None
        if orientation in QUARTER_TURNS:
            width, height = height, width
        return ImageInfo(format=decoded.format.lower(), width=width, height=height, n_frames=decoded.n_frames)
    finally:
        decoded.image.close()
