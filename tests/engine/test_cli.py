"""The command line: python -m compression.engine."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from compression.engine.__main__ import main, parse_size
from tests.conftest import REPO_ROOT
from tests.helpers import encode_png, stripes


@pytest.fixture
def small_png(tmp_path):
    path = tmp_path / "in.png"
    image = stripes(48, 32, [(255, 0, 0), (0, 128, 0), (0, 0, 255), (250, 250, 250), (10, 10, 10)])
    path.write_bytes(encode_png(image))
    return path


def test_round_trip_with_json_stats(small_png, tmp_path, capsys):
    out = tmp_path / "out.png"
    code = main([str(small_png), "-k", "4", "-o", str(out), "--resize", "fit", "--width", "24", "--height", "24", "--json"])
    assert code == 0
    stats = json.loads(capsys.readouterr().out)
    image = Image.open(out)
    assert image.mode == "P" and image.size == (24, 16) == (stats["width"], stats["height"])
    assert stats["n_colors_used"] <= 4 and stats["output_bytes"] == out.stat().st_size


def test_format_from_the_output_name_and_options(small_png, tmp_path, capsys):
    out = tmp_path / "out.gif"
    assert main([str(small_png), "-k", "8", "-o", str(out), "--crop", "0,0,10,10", "--scale", "50"]) == 0
    image = Image.open(out)
    assert image.format == "GIF" and image.size == (5, 5)
    assert "out.gif: 5x5" in capsys.readouterr().out


def test_target_size_option(small_png, tmp_path):
    out = tmp_path / "out.png"
    assert main([str(small_png), "-k", "64", "-o", str(out), "--target-size", "1KB"]) == 0
    assert out.stat().st_size <= 1000


def test_sizes_parse():
    assert parse_size("100KB") == 100_000 and parse_size("1.5MiB") == 1_572_864 and parse_size("2048") == 2048


@pytest.mark.parametrize(
    "args, words",
    [
        (["-k", "1"], "K (the number of colours) must be a whole number from 2 to 256"),
        (["--crop", "40,0,20,10"], "crop box"),
        (["--optimize", "3", "--format", "gif"], "png_optimize_level"),
    ],
)
def test_bad_options_exit_2_with_a_message(small_png, tmp_path, capsys, args, words):
    assert main([str(small_png), "-o", str(tmp_path / "o.png"), *args]) == 2
    assert words in capsys.readouterr().err


def test_bad_input_exits_2_in_a_real_process(tmp_path):
    bad = tmp_path / "page.jpg"
    bad.write_bytes(b"<!DOCTYPE html><html><body>hi</body></html>")
    completed = subprocess.run(
        [sys.executable, "-m", "compression.engine", str(bad), "-o", str(tmp_path / "o.png")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "not an image" in completed.stderr
    assert not (tmp_path / "o.png").exists()


def test_missing_file_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.png")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_pixels_survive_the_round_trip(small_png, tmp_path):
    out = tmp_path / "out.png"
    assert main([str(small_png), "-k", "8", "-o", str(out), "--optimize", "2"]) == 0
    original = np.asarray(Image.open(small_png))
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), original)
