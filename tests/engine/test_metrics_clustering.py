"""The seeds' options: random initialisation beside k-means++, and the silhouette score."""

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from compression.engine import CompressOptions, InvalidOptions, compress, quantize
from compression.engine import metrics
from tests.helpers import encode_png


@pytest.mark.parametrize("n_points, n_labels", [(5, 2), (60, 3), (400, 17), (1000, 256)])
def test_silhouette_equals_scikit_learn(n_points, n_labels):
    rng = np.random.default_rng(n_points)
    points = rng.normal(size=(n_points, 3)) * 40
    labels = rng.integers(0, n_labels, n_points)
    labels[:2] = [0, 1]  # at least two clusters
    assert metrics.silhouette(points, labels) == pytest.approx(silhouette_score(points, labels), abs=1e-6)


def test_silhouette_by_hand_and_undefined_cases():
    # Two pairs: a = 1 for every point; the outer points have b = mean(10, 11) = 10.5, s = 9.5/10.5,
    # the inner ones b = mean(9, 10) = 9.5, s = 8.5/9.5.
    points = np.array([[0.0], [1.0], [10.0], [11.0]])
    expected = (9.5 / 10.5 + 8.5 / 9.5) / 2
    assert metrics.silhouette(points, np.array([0, 0, 1, 1])) == pytest.approx(expected, abs=1e-7)
    assert metrics.silhouette(points, np.zeros(4, dtype=int)) is None  # one cluster
    assert metrics.silhouette(points, np.arange(4)) is None  # every point alone


def test_compress_reports_the_silhouette_of_its_clusters(corpus_dir):
    # 20x20 = 400 pixels, fewer than the sample: the estimate is the exact silhouette.
    image = Image.open(corpus_dir / "photos/kodim23.png").resize((20, 20), Image.Resampling.LANCZOS)
    result = compress(encode_png(image), CompressOptions(n_colors=6))
    pixels = np.asarray(image).reshape(-1, 3).astype(np.float64)
    labels = np.asarray(Image.open(io.BytesIO(result.data))).reshape(-1)
    assert result.stats.silhouette == pytest.approx(silhouette_score(pixels, labels), abs=1e-6)


def test_silhouette_sample_is_bounded_and_seeded(corpus_dir):
    pixels = np.asarray(Image.open(corpus_dir / "photos/kodim23.png").convert("RGB"))
    q = quantize(pixels, 8)
    first = metrics.sampled_silhouette(pixels, q.indices, seed=3)
    assert first == metrics.sampled_silhouette(pixels, q.indices, seed=3)
    assert first != metrics.sampled_silhouette(pixels, q.indices, seed=4)
    assert 0 < first < 1  # K-Means clusters of a photo are separated, not perfectly


def test_random_init_is_seeded_and_as_good_as_scikit_learns(corpus_dir):
    pixels = np.asarray(Image.open(corpus_dir / "photos/kodim03.png").reduce(4).convert("RGB"))
    ours = quantize(pixels, 12, init="random", seed=5)
    again = quantize(pixels, 12, init="random", seed=5)
    assert np.array_equal(ours.palette, again.palette)
    plus_plus = quantize(pixels, 12, seed=5)
    assert not np.array_equal(ours.palette, plus_plus.palette)  # the option changes the start
    flat = pixels.reshape(-1, 3).astype(np.float64)
    reference = KMeans(12, init="random", n_init=4, random_state=0).fit(flat)
    assert ours.inertia <= reference.inertia_ / len(flat) * 1.03


def test_init_is_validated_and_reported(corpus_dir):
    data = encode_png(Image.open(corpus_dir / "photos/kodim23.png").reduce(8))
    with pytest.raises(InvalidOptions) as error:
        compress(data, CompressOptions(init="forgy"))
    assert error.value.field == "init" and "k-means++, random" in str(error.value)
    assert compress(data, CompressOptions(init="random")).stats.init == "random"
