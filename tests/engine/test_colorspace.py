"""sRGB <-> OKLab conversions against Ottosson's published values and their own inverse."""

import numpy as np
import pytest

from compression.engine.colorspace import oklab_to_srgb, oklab_to_srgb8, srgb_to_linear, srgb_to_oklab
from compression.engine.errors import InvalidOptions


def test_white_is_l1_and_black_is_l0():
    lab = srgb_to_oklab(np.array([[255, 255, 255], [0, 0, 0]], dtype=np.uint8))
    np.testing.assert_allclose(lab[0], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-12)


def test_primaries_match_published_oklab_values():
    # CSS Color 4 / Ottosson: sRGB red, green, blue in OKLab (to 4 decimals).
    lab = srgb_to_oklab(np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8))
    expected = [[0.6280, 0.2249, 0.1258], [0.8664, -0.2339, 0.1795], [0.4520, -0.0325, -0.3115]]
    np.testing.assert_allclose(lab, expected, atol=1e-4)


def test_uint8_table_and_float_path_agree():
    colors = np.random.default_rng(1).integers(0, 256, (1000, 3), dtype=np.uint8)
    np.testing.assert_allclose(srgb_to_oklab(colors), srgb_to_oklab(colors.astype(np.float64)), atol=1e-12)


def test_round_trip_is_exact_for_every_grey_and_random_colours():
    rng = np.random.default_rng(0)
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    colors = np.vstack([grey, rng.integers(0, 256, (50_000, 3), dtype=np.uint8)])
    lab = srgb_to_oklab(colors)
    # The published matrices have 10 decimals, so the float round trip is good to ~5e-4 of 255.
    np.testing.assert_allclose(oklab_to_srgb(lab), colors, atol=1e-3)
    np.testing.assert_array_equal(oklab_to_srgb8(lab), colors)


def test_out_of_gamut_lab_is_clipped_in_uint8():
    out = oklab_to_srgb8(np.array([[1.2, 0.0, 0.0], [0.5, 0.4, 0.0]]))
    assert out.dtype == np.uint8
    assert out[0].tolist() == [255, 255, 255]


def test_linear_decoding_uses_the_piecewise_srgb_curve():
    lin = srgb_to_linear(np.array([0.0, 10.0, 255.0]))
    np.testing.assert_allclose(lin, [0.0, 10 / 255 / 12.92, 1.0])


def test_rejects_wrong_last_axis():
    with pytest.raises(InvalidOptions, match=r"\(5, 4\)"):
        srgb_to_oklab(np.zeros((5, 4)))
