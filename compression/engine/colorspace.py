"""sRGB <-> OKLab conversions, vectorised.

The formulas and constants are those of Björn Ottosson, "A perceptual color space for image
processing" (2020): sRGB transfer function -> linear sRGB -> LMS (M1) -> cube root -> Lab (M2),
and the exact inverse. sRGB values are in 0-255 units; OKLab has L in 0-1 and a, b roughly in
-0.4..0.4.
"""

import numpy as np

from .errors import InvalidOptions

# Linear sRGB -> LMS (Ottosson's M1, already combined with the sRGB primaries).
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
# Cube-rooted LMS -> Lab (M2).
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_LAB_TO_LMS = np.array(
    [
        [1.0, 0.3963377774, 0.2158037573],
        [1.0, -0.1055613458, -0.0638541728],
        [1.0, -0.0894841775, -1.2914855480],
    ]
)
_LMS_TO_RGB = np.array(
    [
        [4.0767416621, -3.3077115913, 0.2309699292],
        [-1.2684380046, 2.6097574011, -0.3413193965],
        [-0.0041960863, -0.7034186147, 1.7076147010],
    ]
)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Decode the sRGB transfer function.

    Parameters
    ----------
    srgb : ndarray of shape (..., 3), any real dtype
        sRGB values in 0-255 units.

    Returns
    -------
    ndarray of shape (..., 3), float64
        Linear-light values, 0-1 for in-gamut input.
    """
    c = np.asarray(srgb, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Encode the sRGB transfer function (the inverse of `srgb_to_linear`).

    Parameters
    ----------
    linear : ndarray of shape (..., 3)
        Linear-light values; negatives are mirrored so out-of-gamut values stay finite.

    Returns
    -------
    ndarray of shape (..., 3), float64
        sRGB in 0-255 units, not clipped.
    """
    c = np.asarray(linear, dtype=np.float64)
    mag = np.abs(c)
    encoded = np.where(mag <= 0.0031308, 12.92 * mag, 1.055 * mag ** (1 / 2.4) - 0.055)
    return np.copysign(encoded, c) * 255.0


# The 256 possible uint8 channel values, decoded once: uint8 input skips the power function.
_LINEAR_LUT = srgb_to_linear(np.arange(256, dtype=np.float64))


def _check_last_axis(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim < 1 or array.shape[-1] != 3:
        raise InvalidOptions(f"{name} must have shape (..., 3), got shape {array.shape}")
    return array


def srgb_to_oklab(srgb: np.ndarray) -> np.ndarray:
    """Convert sRGB to OKLab.

    Parameters
    ----------
    srgb : ndarray of shape (..., 3)
        uint8 (decoded through a 256-entry table) or float sRGB in 0-255 units.

    Returns
    -------
    ndarray of shape (..., 3), float64
        OKLab (L, a, b); L is 0 for black and 1 for white.
    """
    srgb = _check_last_axis(srgb, "srgb")
    return _srgb_to_oklab(srgb)


def _srgb_to_oklab(srgb: np.ndarray) -> np.ndarray:
    """`srgb_to_oklab` without validation."""
    linear = _LINEAR_LUT[srgb] if srgb.dtype == np.uint8 else srgb_to_linear(srgb)
    lms = linear @ _RGB_TO_LMS.T
    return np.cbrt(lms) @ _LMS_TO_LAB.T


def oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Convert OKLab to sRGB.

    Parameters
    ----------
    lab : ndarray of shape (..., 3), float
        OKLab (L, a, b).

    Returns
    -------
    ndarray of shape (..., 3), float64
        sRGB in 0-255 units, **not** clipped (out-of-gamut colours fall outside 0-255).
    """
    lab = _check_last_axis(lab, "lab")
    return _oklab_to_srgb(lab)


def _oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """`oklab_to_srgb` without validation."""
    lms = (np.asarray(lab, dtype=np.float64) @ _LAB_TO_LMS.T) ** 3
    return linear_to_srgb(lms @ _LMS_TO_RGB.T)


def oklab_to_srgb8(lab: np.ndarray) -> np.ndarray:
    """Convert OKLab to sRGB uint8, rounded and clipped to 0-255.

    Parameters
    ----------
    lab : ndarray of shape (..., 3), float

    Returns
    -------
    ndarray of shape (..., 3), uint8
    """
    return np.clip(np.rint(oklab_to_srgb(lab)), 0, 255).astype(np.uint8)
