"""K-Means quantizer: hand-computed cases, properties on random and real images, scikit-learn cross-check."""

import numpy as np
import pytest
from PIL import Image

from compression.engine.colorspace import srgb_to_oklab
from compression.engine.errors import InvalidOptions
from compression.engine.kmeans import (
    ElbowPoint,
    Quantization,
    build_histogram,
    elbow,
    quantize,
    quantize_histogram,
)


def image(colors, repeat=None):
    """1×n uint8 image from a list of colours, each repeated `repeat[i]` times."""
    colors = np.array(colors, dtype=np.uint8)
    if repeat is not None:
        colors = np.repeat(colors, repeat, axis=0)
    return colors[None, :, :]


def random_image(seed=0, shape=(48, 64, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def premultiplied(colors):
    out = colors.astype(np.float64)
    if colors.shape[-1] == 4:
        out[..., :3] *= out[..., 3:] / 255.0
    return out


def recomputed_inertia(pixels, q: Quantization):
    diff = premultiplied(pixels) - premultiplied(q.palette[q.indices])
    return float((diff**2).sum(axis=-1).mean())


def nearest_in_rgb(pixels, palette):
    flat = pixels.reshape(-1, pixels.shape[-1]).astype(np.float64)
    dist = ((flat[:, None, :] - palette[None, :, :].astype(np.float64)) ** 2).sum(axis=2)
    return dist.min(axis=1), dist


@pytest.fixture(scope="module")
def kodak_small():
    """Three Kodak photos at 1/4 size (192×128), enough for sklearn in well under a second."""
    from tests.conftest import CORPUS

    out = []
    for name in ("kodim05.png", "kodim15.png", "kodim23.png"):
        with Image.open(CORPUS / "photos" / name) as im:
            out.append(np.asarray(im.convert("RGB").reduce(4)))
    return out


# --- hand-computed cases (as scikit-learn's test_kmeans_results) --------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_separated_groups_give_known_centres_labels_and_inertia(seed):
    # Groups {(0,0,0), (0,0,4)} and {(200,0,0), (200,0,4), (200,0,8)}: centres (0,0,2), (200,0,4).
    # Squared distances 4, 4 | 16, 0, 16 -> inertia 40 / 5 = 8.
    px = image([[0, 0, 0], [0, 0, 4], [200, 0, 0], [200, 0, 4], [200, 0, 8]])
    q = quantize(px, 2, seed=seed)
    assert sorted(map(tuple, q.palette.tolist())) == [(0, 0, 2), (200, 0, 4)]
    labels = q.indices[0]
    assert labels[0] == labels[1] != labels[2] == labels[3] == labels[4]
    assert q.inertia == pytest.approx(8.0)
    assert q.converged and not q.lossless
    assert sorted(q.counts.tolist()) == [2, 3]


def test_repeated_colours_weigh_like_pixels():
    # (0,0,0) x3 and (0,0,8) x1 -> centre (0,0,2); (255,255,255) x2 and (255,255,251) x2 -> (255,255,253).
    # Squared distances: 3*4 + 36 + 2*4 + 2*4 = 64 over 8 pixels -> 8.
    px = image([[0, 0, 0], [0, 0, 8], [255, 255, 255], [255, 255, 251]], repeat=[3, 1, 2, 2])
    q = quantize(px, 2)
    assert sorted(map(tuple, q.palette.tolist())) == [(0, 0, 2), (255, 255, 253)]
    assert q.inertia == pytest.approx(8.0)
    assert q.n_unique_colors == 4


def test_few_colours_come_back_losslessly():
    colors = [[10, 20, 30], [200, 0, 0], [0, 255, 0], [7, 7, 7], [255, 255, 255]]
    px = np.array(colors, dtype=np.uint8)[np.random.default_rng(3).integers(0, 5, (20, 30))]
    q = quantize(px, 8)
    assert q.lossless and q.converged and q.n_iter == 0 and q.inertia == 0.0
    assert sorted(map(tuple, q.palette.tolist())) == sorted(map(tuple, colors))
    np.testing.assert_array_equal(q.palette[q.indices], px)
    assert q.counts.sum() == px.shape[0] * px.shape[1]


def test_exactly_k_colours_is_lossless():
    px = image([[1, 2, 3], [4, 5, 6]], repeat=[5, 7])
    q = quantize(px, 2)
    assert q.lossless
    np.testing.assert_array_equal(q.palette[q.indices], px)


# --- properties -----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 7, 16, 64])
def test_indices_are_the_nearest_entry_of_at_most_k_colours_and_inertia_is_honest(k):
    px = random_image(k)
    q = quantize(px, k)
    assert q.palette.dtype == np.uint8 and q.palette.shape[1] == 3
    assert 1 <= len(q.palette) <= k
    assert q.indices.dtype == np.uint8 and q.indices.shape == px.shape[:2]
    assert q.indices.max() < len(q.palette)
    best, dist = nearest_in_rgb(px, q.palette)
    chosen = dist[np.arange(len(dist)), q.indices.ravel()]
    np.testing.assert_allclose(chosen, best)
    assert q.inertia == pytest.approx(recomputed_inertia(px, q), rel=1e-9)
    np.testing.assert_array_equal(q.counts, np.bincount(q.indices.ravel(), minlength=len(q.palette)))
    assert (q.counts > 0).all()
    assert len(np.unique(q.palette, axis=0)) == len(q.palette)


def test_same_seed_gives_the_same_result():
    px = random_image(5)
    a, b = quantize(px, 12, seed=7), quantize(px, 12, seed=7)
    np.testing.assert_array_equal(a.palette, b.palette)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.inertia == b.inertia and a.history == b.history


def test_strict_convergence_is_a_fixed_point_of_lloyd(kodak_small):
    # With tol=0 only "labels unchanged" stops: every palette colour is then the (rounded) mean of
    # its pixels, i.e. exact K-Means on all pixels, not on a sample.
    px = kodak_small[0]
    q = quantize(px, 16, tol=0.0, max_iter=1000)
    assert q.converged
    flat = px.reshape(-1, 3).astype(np.float64)
    labels = q.indices.ravel()
    means = np.stack([np.bincount(labels, weights=flat[:, c]) for c in range(3)], axis=1) / q.counts[:, None]
    # Rounding to uint8 (0.5) plus the few pixels that switched to a rounded neighbour.
    assert np.abs(means - q.palette).max() < 1.0


def test_history_decreases_and_ends_near_the_inertia(kodak_small):
    q = quantize(kodak_small[1], 16)
    history = np.array(q.history)
    assert len(history) == q.n_iter
    assert (np.diff(history) <= 1e-6 * history[0]).all()
    assert q.inertia == pytest.approx(history[-1], rel=0.02)


def test_max_iter_caps_iterations_and_reports_not_converged(kodak_small):
    q = quantize(kodak_small[2], 64, max_iter=1, tol=0.0)
    assert q.n_iter == 1 and not q.converged
    assert q.indices.max() < len(q.palette)


def test_inertia_matches_scikit_learn_within_one_percent(kodak_small):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    ours, theirs = [], []
    for px in kodak_small:
        flat = px.reshape(-1, 3).astype(np.float64)
        ours.append(quantize(px, 16).inertia)
        with threadpool_limits(1):  # OpenMP/BLAS threads only slow sklearn down on tiny inputs
            theirs.append(KMeans(16, init="k-means++", n_init=1, random_state=0).fit(flat).inertia_ / len(flat))
    # Median ratio over the photos, as in the benchmark goal: no worse than sklearn (1% slack).
    assert np.median(np.array(ours) / np.array(theirs)) < 1.01


def test_histogram_reuse_gives_the_same_result_as_quantize():
    px = random_image(9)
    histogram = build_histogram(px)
    assert histogram.counts.sum() == px.shape[0] * px.shape[1]
    np.testing.assert_array_equal(histogram.colors[histogram.inverse], px)
    for k in (4, 16):
        a, b = quantize(px, k, seed=3), quantize_histogram(histogram, k, seed=3)
        np.testing.assert_array_equal(a.palette, b.palette)
        np.testing.assert_array_equal(a.indices, b.indices)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (800, 800, 3)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_rgb_histogram_agrees_with_np_unique(shape, n_threads):
    from compression.engine.native import rgb_histogram

    # 800 x 800 = 640,000 pixels: two parts of the C loops on two threads.
    px = random_image(4, shape) // 8
    codes, counts, inverse = rgb_histogram(px, n_threads)
    expected, expected_inverse, expected_counts = np.unique(px.reshape(-1, 3), axis=0, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(codes, (expected.astype(np.uint32) * [1 << 16, 1 << 8, 1]).sum(axis=1))
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(inverse.ravel(), expected_inverse.ravel())
    histogram = build_histogram(px)
    np.testing.assert_array_equal(histogram.colors[histogram.inverse], px)


def test_rgb_histogram_ranks_dense_codes_and_the_extreme_colours():
    # Full-range random colours (every bit of the 64-bit bitmap words in use) plus the first and
    # last 24-bit codes, and runs of neighbouring codes that share a bitmap word.
    px = random_image(5, (400, 400, 3))
    px[0, 0], px[0, 1] = (0, 0, 0), (255, 255, 255)
    px[1, :64] = np.stack([np.full(64, 7), np.full(64, 9), np.arange(64)], axis=1)
    histogram = build_histogram(px)
    expected, inverse, counts = np.unique(px.reshape(-1, 3), axis=0, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(histogram.colors, expected)
    np.testing.assert_array_equal(histogram.counts, counts)
    np.testing.assert_array_equal(histogram.inverse.ravel(), inverse.ravel())


def test_elbow_gives_one_point_per_k_from_one_histogram(kodak_small):
    px = kodak_small[0]
    points = elbow(px, [4, 8, 16], seed=0)
    assert [p.n_colors for p in points] == [4, 8, 16]
    assert all(isinstance(p, ElbowPoint) for p in points)
    inertias = [p.inertia for p in points]
    assert inertias[0] > inertias[1] > inertias[2]
    assert inertias[2] == pytest.approx(quantize(px, 16, seed=0).inertia)
    assert elbow(build_histogram(px), [8])[0].inertia == pytest.approx(inertias[1])


# --- OKLab -----------------------------------------------------------------------------------


def test_oklab_indices_are_nearest_in_oklab_and_inertia_is_in_srgb_units(kodak_small):
    px = kodak_small[2]
    q = quantize(px, 16, color_space="oklab")
    assert q.color_space == "oklab" and q.palette.dtype == np.uint8
    lab_px = srgb_to_oklab(px.reshape(-1, 3))
    lab_pal = srgb_to_oklab(q.palette)
    dist = ((lab_px[:, None, :] - lab_pal[None, :, :]) ** 2).sum(axis=2)
    chosen = dist[np.arange(len(dist)), q.indices.ravel()]
    np.testing.assert_allclose(chosen, dist.min(axis=1), atol=1e-5)
    assert q.inertia == pytest.approx(recomputed_inertia(px, q), rel=1e-9)
    # Clustered for perception, the RGB error is close to the RGB clustering's, not wildly off.
    assert q.inertia < 1.5 * quantize(px, 16).inertia


# --- RGBA ------------------------------------------------------------------------------------


def test_transparent_pixels_share_one_entry_and_do_not_take_more_slots():
    rng = np.random.default_rng(0)
    px = np.zeros((20, 20, 4), dtype=np.uint8)
    px[..., :3] = rng.integers(0, 256, (20, 20, 3))  # transparent pixels with arbitrary RGB
    opaque = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]]
    px[:5, :, :] = np.array(opaque, dtype=np.uint8)[rng.integers(0, 3, (5, 20))]
    q = quantize(px, 4)  # 3 opaque colours + the transparent entry fit exactly
    assert q.lossless and q.transparent_index == 0
    assert q.palette[0].tolist() == [0, 0, 0, 0]
    assert (q.indices[5:] == 0).all()
    np.testing.assert_array_equal(q.palette[q.indices[:5]], px[:5])
    assert q.inertia == 0.0


def test_semi_transparent_pixels_keep_their_alpha():
    rng = np.random.default_rng(1)
    px = np.zeros((30, 30, 4), dtype=np.uint8)
    px[..., :3] = rng.integers(0, 256, (30, 30, 3))
    px[:10, :, 3] = 255  # random opaque colours
    px[10:20] = [50, 100, 150, 128]  # a flat translucent area
    px[20:, :, 3] = 0  # transparent, arbitrary RGB
    q = quantize(px, 8)
    assert q.palette.shape[1] == 4 and q.transparent_index == 0
    out = q.palette[q.indices]
    assert (out[20:] == 0).all()
    assert (out[10:20] == [50, 100, 150, 128]).all()
    assert (out[:10, :, 3] == 255).all()
    assert (q.palette[1:, 3] > 0).all()  # only one transparent entry
    assert q.inertia == pytest.approx(recomputed_inertia(px, q), rel=1e-9)


def test_two_colours_with_transparency_leave_one_cluster_for_the_visible_pixels():
    px = np.dstack([random_image(6), np.full((48, 64), 255, np.uint8)])
    px[:10, :, 3] = 0
    q = quantize(px, 2)
    assert len(q.palette) == 2 and q.palette[0].tolist() == [0, 0, 0, 0]
    visible = px[10:, :, :3].reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(q.palette[1, :3], visible.mean(axis=0), atol=0.5)
    assert (q.indices[10:] == 1).all() and (q.indices[:10] == 0).all()


def test_opaque_rgba_gives_an_opaque_four_channel_palette():
    px = np.dstack([random_image(2), np.full((48, 64), 255, np.uint8)])
    q = quantize(px, 8)
    assert q.palette.shape == (len(q.palette), 4) and q.transparent_index is None
    assert (q.palette[:, 3] == 255).all()


def test_rgba_photo_from_the_corpus_quantizes(corpus_image):
    with Image.open(corpus_image("alpha/noto_emoji_u1f525_fire.png")) as im:
        px = np.asarray(im.convert("RGBA").reduce(4))
    q = quantize(px, 16)
    assert len(q.palette) <= 16 and q.indices.max() < len(q.palette)
    assert (q.palette[q.indices][px[..., 3] == 0] == 0).all()


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_colors": 300}, "n_colors=300 must be between 2 and 256"),
        ({"n_colors": 1}, "n_colors=1 must be between 2 and 256"),
        ({"n_colors": 16.0}, "n_colors=16.0"),
        ({"n_colors": 16, "max_iter": 0}, "max_iter=0"),
        ({"n_colors": 16, "tol": -1.0}, "tol=-1.0"),
        ({"n_colors": 16, "color_space": "hsv"}, "color_space='hsv'"),
        ({"n_colors": 16, "seed": -3}, "seed=-3"),
    ],
)
def test_rejects_bad_options_with_the_value_in_the_message(kwargs, message):
    with pytest.raises(InvalidOptions, match=message.replace("(", r"\(").replace(")", r"\)")):
        quantize(random_image(), **kwargs)


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        (np.zeros((4, 4, 3), dtype=np.float32), "dtype uint8, got float32"),
        (np.zeros((4, 4), dtype=np.uint8), r"shape \(H, W, 3\) or \(H, W, 4\), got \(4, 4\)"),
        (np.zeros((4, 4, 2), dtype=np.uint8), r"got \(4, 4, 2\)"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "must not be empty"),
        ([[1, 2, 3]], "numpy array, got list"),
    ],
)
def test_rejects_bad_pixels(pixels, message):
    with pytest.raises(InvalidOptions, match=message):
        quantize(pixels, 4)


@pytest.mark.parametrize("ks", [[], 16, "16", [16, 300]])
def test_elbow_rejects_bad_k_lists(ks):
    with pytest.raises(InvalidOptions, match="ks must be|n_colors=300"):
        elbow(random_image(), ks)


def test_invalid_options_is_a_value_error():
    with pytest.raises(ValueError):
        quantize(random_image(), 0)


# --- internals: the compiled k-means++ and Lloyd (compression/engine/native) -------------------


def brute_force(x, centers):
    """(n, k) float64 squared distances."""
    return ((x[:, None, :].astype(np.float64) - centers[None, :, :].astype(np.float64)) ** 2).sum(axis=2)


def assert_state_exact(state, x, weights, centers):
    """Every label is a nearest centre, every bound holds, and the cluster sums match the labels."""
    k = len(centers)
    dist = np.sqrt(brute_force(x, centers))
    own = dist[np.arange(len(x)), state.labels]
    np.testing.assert_allclose(own, dist.min(axis=1), rtol=1e-9, atol=1e-9)
    assert (state.upper >= own - 1e-9).all()
    others = dist.copy()
    others[np.arange(len(x)), state.labels] = np.inf
    assert (state.lower <= others.min(axis=1) + 1e-9).all()
    np.testing.assert_allclose(state.cluster_weight, np.bincount(state.labels, weights=weights, minlength=k))
    sums = np.stack([np.bincount(state.labels, weights=weights * x[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
    np.testing.assert_allclose(state.cluster_sum, sums, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("d", [3, 4])
@pytest.mark.parametrize("k", [1, 3, 16, 64, 256])
def test_native_assign_finds_the_nearest_centre_across_chunks(k, d):
    from compression.engine.native import LloydState

    rng = np.random.default_rng(k)
    # 70,000 points: several chunks of the C loops and a partial last one, on two threads.
    x = (rng.integers(0, 256, (70_000, d)) - 128).astype(np.float32)
    weights = rng.integers(1, 50, len(x)).astype(np.float64)
    centers = (rng.integers(0, 256, (k, d)) - 128).astype(np.float64)
    state = LloydState(x, weights, k, threads=2)
    state.assign(centers)
    assert_state_exact(state, x, weights, centers)


@pytest.mark.parametrize("k", [2, 16, 64, 256])
def test_native_moves_keep_every_colour_on_its_nearest_centre_and_sums_exact(k):
    from compression.engine.native import LloydState

    rng = np.random.default_rng(k)
    x = rng.normal(0, 40, (40_000, 3)).astype(np.float32)
    weights = rng.integers(1, 50, len(x)).astype(np.float64)
    state = LloydState(x, weights, k, threads=2)
    centers = x[rng.choice(len(x), k, replace=False)].astype(np.float64)
    state.assign(centers)
    for step in range(12):
        # Small drifts (the bounds prune) and, every fourth step, a large jump (they must not).
        scale = 8.0 if step % 4 == 3 else 0.3
        previous = state.labels.copy()
        centers = centers + rng.normal(0, scale, centers.shape)
        changed = state.move(centers)
        assert changed == int((state.labels != previous).sum())
        assert_state_exact(state, x, weights, centers)


def test_native_move_keeps_the_current_centre_on_a_tie():
    from compression.engine.native import LloydState

    x = np.array([[4, 0, 0], [0, 0, 0], [10, 0, 0]], dtype=np.float32)
    state = LloydState(x, np.ones(3), 2)
    state.assign(np.array([[0.0, 0, 0], [10.0, 0, 0]]))
    assert state.labels.tolist() == [0, 0, 1]
    # (4,0,0) is now exactly 6 from both centres: it stays where it was.
    assert state.move(np.array([[-2.0, 0, 0], [10.0, 0, 0]])) == 0
    assert state.labels.tolist() == [0, 0, 1]
    # One step further and the other centre is nearer.
    assert state.move(np.array([[-3.0, 0, 0], [10.0, 0, 0]])) == 1
    assert state.labels.tolist() == [1, 0, 1]


def reference_lloyd(x, weights, centers, max_iter, tol_abs):
    """Plain weighted Lloyd with brute-force assignments (the definition the C loop must meet)."""
    history = []
    labels = brute_force(x, centers).argmin(axis=1)
    for n_iter in range(1, max_iter + 1):
        history.append(float((brute_force(x, centers)[np.arange(len(x)), labels] * weights).sum() / weights.sum()))
        total = np.bincount(labels, weights=weights, minlength=len(centers))
        new = np.stack([np.bincount(labels, weights=weights * x[:, j], minlength=len(centers)) for j in range(x.shape[1])], axis=1) / total[:, None]
        shift = float(((new - centers) ** 2).sum())
        new_labels = brute_force(x, new).argmin(axis=1)
        changed = int((new_labels != labels).sum())
        centers, labels = new, new_labels
        if changed == 0 or shift <= tol_abs:
            return centers, n_iter, True, history
    return centers, max_iter, False, history


@pytest.mark.parametrize(("k", "tol_abs"), [(5, 0.0), (24, 0.0), (24, 1e-2)])
def test_native_lloyd_follows_plain_lloyd_step_by_step(k, tol_abs):
    from compression.engine.native import LloydState

    rng = np.random.default_rng(k)
    # Colour-like clusters, so Lloyd takes many steps and the bounds prune.
    blobs = rng.uniform(-100, 100, (12, 3))
    x = (blobs[rng.integers(0, 12, 6000)] + rng.normal(0, 12, (6000, 3))).astype(np.float32)
    weights = rng.integers(1, 20, len(x)).astype(np.float64)
    start = x[:k].astype(np.float64)
    expected = reference_lloyd(x, weights, start, 300, tol_abs)
    state = LloydState(x, weights, k, threads=2)
    centers, n_iter, converged, history, inertia = state.lloyd(start, 300, tol_abs)
    assert (n_iter, converged) == expected[1:3] and n_iter > 5
    np.testing.assert_allclose(centers, expected[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(history, expected[3], rtol=1e-9)
    assert inertia == pytest.approx(float((brute_force(x, centers).min(axis=1) * weights).sum() / weights.sum()), rel=1e-9)
    assert_state_exact(state, x, weights, centers)


def test_native_lloyd_restarts_an_empty_cluster_at_the_farthest_point():
    from compression.engine.native import LloydState

    x = np.array([[0, 0, 0], [1, 0, 0], [100, 0, 0]], dtype=np.float32)
    # The second centre is nearest to nothing: it must restart at the point farthest from its centre.
    state = LloydState(x, np.ones(3), 2)
    centers, n_iter, converged, history, inertia = state.lloyd(np.array([[0.0, 0, 0], [-500.0, 0, 0]]), 10, 0.0)
    assert converged
    assert sorted(map(tuple, centers.round(6))) == [(0.5, 0.0, 0.0), (100.0, 0.0, 0.0)]
    assert inertia == pytest.approx(0.5 / 3)


def reference_plusplus(x, weights, k, n_trials, uniforms):
    """scikit-learn's greedy weighted k-means++ in numpy, drawing from `uniforms` in order."""
    x = x.astype(np.float64)
    cumulative = np.cumsum(weights)
    first = min(int(np.searchsorted(cumulative, uniforms[0] * cumulative[-1])), len(x) - 1)
    centers = [x[first]]
    closest = ((x - x[first]) ** 2).sum(axis=1)
    potential = float(closest @ weights)
    for c in range(1, k):
        trials = uniforms[1 + (c - 1) * n_trials : 1 + c * n_trials]
        candidates = np.minimum(np.searchsorted(np.cumsum(weights * closest), trials * potential), len(x) - 1)
        distance = np.minimum(closest, brute_force(x[candidates], x))
        potentials = distance @ weights
        best = int(np.argmin(potentials))
        closest, potential = distance[best], float(potentials[best])
        centers.append(x[candidates[best]])
    return np.array(centers)


@pytest.mark.parametrize("k", [2, 16, 64])
def test_native_kmeans_plusplus_draws_the_same_centres_as_the_reference(k):
    from compression.engine.kmeans import _local_trials
    from compression.engine.native import kmeans_plusplus

    rng = np.random.default_rng(k)
    x = rng.normal(0, 40, (3000, 3)).astype(np.float32)
    weights = rng.integers(1, 50, len(x)).astype(np.float64)
    uniforms = rng.random(1 + (k - 1) * _local_trials(k))
    expected = reference_plusplus(x, weights, k, _local_trials(k), uniforms)
    np.testing.assert_array_equal(kmeans_plusplus(x, weights, k, _local_trials(k), uniforms), expected)
