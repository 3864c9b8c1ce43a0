"""Is a palette the right format for this image? A cheap answer before a job and in every job's stats.

On a preview-sized copy (at most `VERDICT_PIXELS`, Lanczos), the palette result (same K, dithering,
colour space, seed and initialisation, the default PNG encoder) is measured against lossy WebP at the
same SSIM: a binary search over Pillow's WebP quality finds the lowest quality whose SSIM reaches
the palette's, and the two sizes are compared. When WebP needs fewer bytes the image "looks like a
photo" (smooth gradients and noise, which palettes pay for and a transform codec does not); else
palette PNG is the right format (flat colours, sharp edges, text: illustrations, icons, screenshots).

SSIM is the engine's (`metrics`): for alpha images the worse over black and over white, and WebP
keeps the alpha channel (lossless alpha, lossy colour).

Cost, 0.02-0.35 s at up to 0.25 MP (bench_quality): inside `compress` the job's own palette is
mapped onto the preview (no second K-Means). Graphics usually end after one fast encode at
quality 100 that already falls short. The binary search over quality runs with libwebp's fast method
(`SEARCH_WEBP_METHOD`, 6-14 ms an encode at 0.4 MP against 25-55 ms for the default method 4),
which assumes SSIM grows with quality (it does closely, not exactly); the quality found is then
encoded with the default method, the one a user's WebP would use, and raised until it reaches the
SSIM (method 4 almost always reaches it at the same quality).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image

from . import metrics
from .decode import to_array
from .encode import WEBP_METHOD, encode
from .kmeans import quantize
from .options import AUTO, CompressOptions, validate_options
from .remap import remap
from .sandbox import CappedDecode
from .source import planned_image

# The preview the verdict is measured on: 0.25 MP halves its cost against the 0.5 MP the issue
# allows, and agreed with the full-size truth on every image of bench_quality.
VERDICT_PIXELS = 250_000
WEBP_MIN_QUALITY, WEBP_MAX_QUALITY = 1, 100
SEARCH_WEBP_METHOD = 1  # libwebp's speed/size trade-off while searching; the answer uses WEBP_METHOD
QUALITY_STEP = 2  # how far the answer's quality is raised when the default method falls short

Kind = Literal["photo", "graphic"]


@dataclass(frozen=True)
class Verdict:
    """What the verdict found on the preview.

    Attributes
    ----------
    kind : {"photo", "graphic"}
        "photo" when lossy WebP at the same SSIM is smaller than the palette PNG.
    webp_quality : int or None
        The lowest WebP quality (1-100) whose SSIM reaches the palette's; None when not even 100 does.
    webp_bytes_ratio : float or None
        Palette PNG bytes / WebP bytes at that quality (3.0: WebP would be 3x smaller); None with
        `webp_quality`.
    palette_bytes, webp_bytes : int, int or None
        Sizes on the preview.
    ssim : float
        The palette result's SSIM on the preview: the SSIM WebP had to match.
    width, height : int
        The preview's size.
    message : str
        The verdict in plain words.
    """

    kind: Kind
    webp_quality: int | None
    webp_bytes_ratio: float | None
    palette_bytes: int
    webp_bytes: int | None
    ssim: float
    width: int
    height: int
    message: str


def format_verdict(source: bytes | BinaryIO | CappedDecode, options: CompressOptions | None = None) -> Verdict | None:
    """Judge an image before a job: would lossy WebP beat its palette PNG at the same SSIM?

    Parameters
    ----------
    source : bytes, binary file object or CappedDecode
        The encoded image, or its pixels decoded under caps (`decode_capped`), as `compress` takes it.
    options : CompressOptions or None
        The job's options (K, dithering, colour space, seed, init and geometry are used; searches
        are not run: the verdict judges K = `n_colors`, and the default K for n_colors="auto",
        whose K is not known before the job). None: the defaults.

    Returns
    -------
    Verdict, or None when the image is smaller than SSIM's 7x7 window (no SSIM to match).

    Raises
    ------
    InvalidOptions, InvalidImage, UnsupportedFormat, ImageTooLarge
    """
    o = options if options is not None else CompressOptions()
    validate_options(o)
    image, _input_bytes = planned_image(source, o)
    pixels = to_array(image)
    n_colors = CompressOptions.n_colors if o.n_colors == AUTO else o.n_colors
    return judge(pixels, n_colors=n_colors, dither=o.dither, color_space=o.color_space, seed=o.seed, init=o.init)


def judge(
    pixels: np.ndarray, *, n_colors: int, palette: np.ndarray | None = None, dither: float = 0.0,
    color_space: str = "rgb", seed: int = 0, init: str = "k-means++", max_pixels: int = VERDICT_PIXELS,
) -> Verdict | None:
    """The verdict for pixels the pipeline already holds (validated input; see `verdict`).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3|4)
    n_colors : int
        K for a palette made on the preview (when `palette` is None).
    palette : ndarray of uint8, shape (k, C) or None
        The job's palette: mapped onto the preview instead of clustering it again.
    dither, color_space, seed, init
        As the palette result was (or will be) made.
    max_pixels : int
        Size of the preview.
    """
    preview = _preview(pixels, max_pixels)
    height, width = preview.shape[:2]
    if min(height, width) < metrics.SSIM_WINDOW:
        return None
    if palette is None:
        palette = quantize(preview, n_colors, seed=seed, color_space=color_space, init=init).palette
    indices = remap(preview, palette, dither=dither, color_space=color_space)
    palette_bytes = len(encode(indices, palette))
    target = metrics.score(preview, indices, palette).ssim
    quality, webp_bytes = _webp_matching(preview, target)
    if quality is None:
        return Verdict("graphic", None, None, palette_bytes, None, target, width, height, _message("graphic", None, None))
    ratio = palette_bytes / webp_bytes
    kind: Kind = "photo" if ratio > 1 else "graphic"
    return Verdict(kind, quality, ratio, palette_bytes, webp_bytes, target, width, height, _message(kind, quality, ratio))


def _preview(pixels: np.ndarray, max_pixels: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    if height * width <= max_pixels:
        return pixels
    scale = math.sqrt(max_pixels / (height * width))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return to_array(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def webp_bytes_at(pixels: np.ndarray, quality: int, *, method: int = WEBP_METHOD) -> tuple[bytes, np.ndarray]:
    """Lossy WebP of `pixels` at `quality` (alpha kept), and the pixels it decodes to."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "WEBP", quality=quality, method=method)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        shown = np.asarray(decoded.convert("RGBA" if pixels.shape[2] == 4 else "RGB"))
    return data, shown


def _reaches(pixels: np.ndarray, quality: int, target: float, method: int, *, searching: bool) -> tuple[bool, int]:
    """Does WebP at `quality` reach the SSIM `target`? (and its bytes)

    While searching, an alpha image's colour is encoded alone and the alpha put back: WebP keeps
    alpha losslessly (alpha_quality 100), so the decoded alpha is the original's, and the lossless
    alpha encode (about 0.2 s at 0.5 MP, the same at every quality) is paid only for the answer.
    """
    if searching and pixels.shape[2] == 4:
        data, colour = webp_bytes_at(np.ascontiguousarray(pixels[..., :3]), quality, method=method)
        shown = np.concatenate([colour, pixels[..., 3:]], axis=2)
    else:
        data, shown = webp_bytes_at(pixels, quality, method=method)
    return metrics.ssim(pixels, shown) >= target, len(data)


def _webp_matching(pixels: np.ndarray, target: float) -> tuple[int | None, int | None]:
    """(lowest WebP quality whose SSIM reaches `target`, its bytes at WEBP_METHOD), or (None, None)."""
    found = None
    low, high = WEBP_MIN_QUALITY, WEBP_MAX_QUALITY
    # Graphics first: when not even the best quality reaches the SSIM, one encode says so.
    if not _reaches(pixels, WEBP_MAX_QUALITY, target, SEARCH_WEBP_METHOD, searching=True)[0]:
        reached, n_bytes = _reaches(pixels, WEBP_MAX_QUALITY, target, WEBP_METHOD, searching=False)
        return (WEBP_MAX_QUALITY, n_bytes) if reached else (None, None)
    while low <= high:  # invariant: every quality below `low` falls short (fast method)
        middle = (low + high) // 2
        if _reaches(pixels, middle, target, SEARCH_WEBP_METHOD, searching=True)[0]:
            found, high = middle, middle - 1
        else:
            low = middle + 1
    if found is None:
        return None, None
    quality = found
    while True:
        reached, n_bytes = _reaches(pixels, quality, target, WEBP_METHOD, searching=False)
        if reached:
            return quality, n_bytes
        if quality == WEBP_MAX_QUALITY:
            return None, None
        quality = min(quality + QUALITY_STEP, WEBP_MAX_QUALITY)


def _message(kind: Kind, quality: int | None, ratio: float | None) -> str:
    if kind == "photo":
        return (
            f"This looks like a photo: WebP at quality {quality} would be {ratio:.1f}× smaller "
            "at the same SSIM."
        )
    if ratio is None:
        return "Palette PNG is the right format here: lossy WebP cannot reach the same SSIM."
    return (
        f"Palette PNG is the right format here: lossy WebP at the same SSIM would be "
        f"{1 / ratio:.1f}× larger."
    )
