"""Dithering and alpha against issue 15's goals: speed on a 12 MP photo, quality and bytes against pngquant.

    nice -n 10 .venv/bin/python bench/bench_dither.py                 # both parts (about 25 minutes)
    nice -n 10 .venv/bin/python bench/bench_dither.py --speed         # only the 12 MP timings
    nice -n 10 .venv/bin/python bench/bench_dither.py --quality --ks 32,64 --oxipng-level 2
    nice -n 10 .venv/bin/python bench/bench_dither.py --speed --corpus   # the corpus's 11.9 MP photo

Speed: `compress` at K=64 of a 12 MP photo given as a PNG (`tests/images/photos/kodim23.png`
upscaled with Lanczos to 4240×2832; with --corpus, IMAGE_CORPUS's large/seondol-son-…jpg, 3984×2988,
re-encoded as PNG), three ways: plain, dither=1.0, and the same pixels with an alpha channel (a
cut-out: an opaque ellipse with a feathered edge, fully transparent corners). Medians of
`--repeats` runs; ratios dithered/plain and RGBA/RGB in wall and CPU time (goals: at most 1.3;
CPU time, all threads, is the steadier figure on a shared machine), and the colour histogram
alone (`build_histogram`) of the RGB and the RGBA pixels.

Quality: every Kodak photo and alpha image in tests/images, at each K, as
- ours d=0 / 0.5 / 1   `compress(png, CompressOptions(n_colors=K, dither=d))` (Pillow's PNG encoder)
- pq FS / pq nofs       `pngquant --speed 3 K` (its Floyd-Steinberg) and `pngquant --speed 3 --nofs K`
each then through the same `oxipng.optimize_from_memory(data, level=6)`. SSIM is the engine's
(`metrics.ssim`; RGBA composited over grey 128, as the engine scores it), SSIMULACRA2 the
`ssimulacra2` package's on the images composited over black and over white, the worse of the two
(the package itself drops alpha). Table cells are medians over the images of a group; Δ columns
are medians of the per-image differences (SSIM, SSIMULACRA2) and ratios (bytes) of ours at
d=1 against pngquant's FS. Goals at d=1 and equal K: SSIM >= pq FS - 0.01, bytes <= 1.05x.
"""

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import oxipng
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from corpus import require  # noqa: E402  (bench/ is this script's folder)
from compression.engine import CompressOptions, compress  # noqa: E402
from compression.engine import metrics  # noqa: E402
from compression.engine.kmeans import build_histogram  # noqa: E402

IMAGES = REPO / "tests" / "images"
PHOTO_SIZE = (4240, 2832)  # 12.0 MP
CORPUS_PHOTO = "large/seondol-son-skcD9ONunJw-unsplash.jpg"
FEATHER = 0.08  # width of the alpha ramp of the speed test's cut-out, in radii
KS = (8, 16, 32, 64, 128, 256)
DITHERS = (0.0, 0.5, 1.0)
METHODS = [f"ours d={d:g}" for d in DITHERS] + ["pq FS", "pq nofs"]
SSIM_SLACK, BYTES_SLACK, SPEED_GOAL = 0.01, 1.05, 1.3


def png_bytes(pixels, level=1):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=level)
    return buffer.getvalue()


# --------------------------------------------------------------------------- speed


def with_feathered_alpha(pixels):
    """The photo with an opaque centre, a feathered ring and fully transparent corners."""
    height, width = pixels.shape[:2]
    y, x = np.ogrid[:height, :width]
    radius = np.hypot((y - height / 2) / (height / 2), (x - width / 2) / (width / 2))
    alpha = np.clip((1.0 - radius) / FEATHER, 0.0, 1.0) * 255
    return np.dstack([pixels, np.rint(alpha).astype(np.uint8)])


def speed(args):
    if args.corpus:
        with Image.open(require(CORPUS_PHOTO)[0]) as image:
            pixels = np.asarray(image.convert("RGB"))
        source = CORPUS_PHOTO
    else:
        with Image.open(IMAGES / "photos" / "kodim23.png") as image:
            pixels = np.asarray(image.convert("RGB").resize(PHOTO_SIZE, Image.LANCZOS))
        source = f"kodim23 upscaled to {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}"
    rgba = with_feathered_alpha(pixels)
    alpha = rgba[..., 3]
    cases = {
        "plain": (png_bytes(pixels), CompressOptions(n_colors=64)),
        "dither=1": (png_bytes(pixels), CompressOptions(n_colors=64, dither=1.0)),
        "RGBA plain": (png_bytes(rgba), CompressOptions(n_colors=64)),
    }
    print(f"\n## Speed: compress at K=64 of {source} ({pixels.shape[1] * pixels.shape[0] / 1e6:.1f} MP), "
          f"median of {args.repeats} runs")
    print(f"RGBA: {np.mean((alpha > 0) & (alpha < 255)):.0%} translucent, {np.mean(alpha == 0):.0%} transparent pixels\n")
    print("| case | wall s | CPU s | decode | quantize | remap | encode | metrics | output bytes |")
    print("|---|---|---|---|---|---|---|---|---|")
    medians, cpu_medians = {}, {}
    for name, (data, options) in cases.items():
        walls, cpus, stages = [], [], []
        for _ in range(args.repeats):
            cpu, wall = time.process_time(), time.perf_counter()
            result = compress(data, options)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            stages.append(result.stats.timings_ms)
        medians[name] = statistics.median(walls)
        cpu_medians[name] = statistics.median(cpus)
        stage = {key: statistics.median(s[key] for s in stages) / 1000 for key in stages[0]}
        print(f"| {name} | {medians[name]:.3f} | {cpu_medians[name]:.3f} | {stage['decode']:.3f} | "
              f"{stage['quantize']:.3f} | {stage['remap']:.3f} | {stage['encode']:.3f} | {stage['metrics']:.3f} | "
              f"{result.stats.output_bytes:,} |")
    histogram_times = {}
    for name, image in (("RGB", pixels), ("RGBA", rgba)):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            histogram = build_histogram(image)
            times.append(time.perf_counter() - start)
        histogram_times[name] = statistics.median(times)
        print(f"\nbuild_histogram {name}: {histogram_times[name]:.3f} s, {histogram.n_unique_colors:,} distinct colours", end="")
    print(f"\nhistogram RGBA / RGB = {histogram_times['RGBA'] / histogram_times['RGB']:.2f}")
    print()
    for label, case in (("dithered / plain", "dither=1"), ("RGBA / RGB", "RGBA plain")):
        wall, cpu = medians[case] / medians["plain"], cpu_medians[case] / cpu_medians["plain"]
        verdict = "met" if max(wall, cpu) <= SPEED_GOAL else "NOT met"
        print(f"{label} = {wall:.2f} wall, {cpu:.2f} CPU (goal <= {SPEED_GOAL}: {verdict})")


# --------------------------------------------------------------------------- quality


def load_quality_images(names):
    groups = {"photos": sorted((IMAGES / "photos").glob("kodim*.png")), "alpha": sorted((IMAGES / "alpha").glob("*.png"))}
    out = {}
    for group, paths in groups.items():
        for path in paths:
            if names and path.stem not in names:
                continue
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGBA" if group == "alpha" else "RGB"))
            out.setdefault(group, []).append((path.stem, pixels))
    return out


def encode(method, pixels, source, k):
    if method.startswith("ours"):
        return compress(source, CompressOptions(n_colors=k, dither=float(method.split("=")[1]))).data
    flags = ["--nofs"] if method == "pq nofs" else []
    done = subprocess.run(["pngquant", "--speed", "3", *flags, str(k), "-"], input=source, capture_output=True, check=True)
    return done.stdout


def composited(pixels, background):
    if pixels.shape[2] == 3:
        return pixels
    alpha = pixels[..., 3:].astype(np.float64) / 255
    return np.rint(pixels[..., :3] * alpha + background * (1 - alpha)).astype(np.uint8)


def ssimulacra2_score(original, decoded):
    """SSIMULACRA2 over black and over white, the worse (RGB images: once)."""
    from ssimulacra2 import compute_ssimulacra2

    backgrounds = (0, 255) if original.shape[2] == 4 else (0,)
    return min(
        compute_ssimulacra2(io.BytesIO(png_bytes(composited(original, bg))), io.BytesIO(png_bytes(composited(decoded, bg))))
        for bg in backgrounds
    )


def measure(images, ks, level, with_ssimulacra2):
    """{(group, k, method): [(name, bytes, ssim, ssimulacra2)]}"""
    rows = {}
    for group, members in images.items():
        for name, pixels in members:
            source = png_bytes(pixels, level=6)
            for k in ks:
                for method in METHODS:
                    data = oxipng.optimize_from_memory(encode(method, pixels, source, k), level=level)
                    with Image.open(io.BytesIO(data)) as image:
                        decoded = np.asarray(image.convert("RGBA" if pixels.shape[2] == 4 else "RGB"))
                    score = ssimulacra2_score(pixels, decoded) if with_ssimulacra2 else float("nan")
                    rows.setdefault((group, k, method), []).append((name, len(data), metrics.ssim(pixels, decoded), score))
                print(f"  {group} {name} K={k} done", file=sys.stderr, flush=True)
    return rows


def quality(args):
    images = load_quality_images(set(args.images.split(",")) if args.images else None)
    try:
        import ssimulacra2  # noqa: F401

        with_ssimulacra2 = not args.no_ssimulacra2
    except ImportError:
        with_ssimulacra2 = False
    ks = [int(k) for k in args.ks.split(",")]
    rows = measure(images, ks, args.oxipng_level, with_ssimulacra2)
    print(f"\n## Quality against pngquant 2.17 (--speed 3), after oxipng level {args.oxipng_level}")
    met = total = 0
    for group, members in images.items():
        print(f"\n### {group}: {', '.join(name for name, _ in members)} (medians over {len(members)} images)\n")
        print("| K | " + " | ".join(f"SSIM {m}" for m in METHODS) + " | " + " | ".join(f"KB {m}" for m in METHODS)
              + " | ΔSSIM d=1 vs FS | bytes d=1 / FS | worst ΔSSIM | worst bytes" + (" | S2 d=1 | S2 FS | ΔS2" if with_ssimulacra2 else "") + " |")
        print("|---" * (4 + 2 * len(METHODS) + (3 if with_ssimulacra2 else 0)) + "|")
        for k in ks:
            cells = {m: rows[(group, k, m)] for m in METHODS}
            ssim = [statistics.median(r[2] for r in cells[m]) for m in METHODS]
            kb = [statistics.median(r[1] for r in cells[m]) / 1000 for m in METHODS]
            ours, theirs = cells["ours d=1"], cells["pq FS"]
            d_ssim = [a[2] - b[2] for a, b in zip(ours, theirs)]
            ratio = [a[1] / b[1] for a, b in zip(ours, theirs)]
            ok = statistics.median(d_ssim) >= -SSIM_SLACK and statistics.median(ratio) <= BYTES_SLACK
            met, total = met + ok, total + 1
            line = (f"| {k} | " + " | ".join(f"{v:.4f}" for v in ssim) + " | " + " | ".join(f"{v:.1f}" for v in kb)
                    + f" | {statistics.median(d_ssim):+.4f} | {statistics.median(ratio):.3f} | {min(d_ssim):+.4f} | {max(ratio):.3f}")
            if with_ssimulacra2:
                s_ours, s_theirs = statistics.median(r[3] for r in ours), statistics.median(r[3] for r in theirs)
                d_s2 = statistics.median(a[3] - b[3] for a, b in zip(ours, theirs))
                line += f" | {s_ours:.2f} | {s_theirs:.2f} | {d_s2:+.2f}"
            print(line + " |")
    print(f"\nd=1 vs pngquant FS, medians per group and K: {met} of {total} meet SSIM >= FS - {SSIM_SLACK} and bytes <= {BYTES_SLACK}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="only the 12 MP timings")
    parser.add_argument("--quality", action="store_true", help="only the pngquant comparison")
    parser.add_argument("--corpus", action="store_true", help=f"time IMAGE_CORPUS's {CORPUS_PHOTO} instead")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default=",".join(map(str, KS)))
    parser.add_argument("--images", default="", help="comma-separated stems (default: all)")
    parser.add_argument("--oxipng-level", type=int, default=6)
    parser.add_argument("--no-ssimulacra2", action="store_true")
    args = parser.parse_args()
    both = not args.speed and not args.quality
    if args.speed or both:
        speed(args)
    if args.quality or both:
        quality(args)


if __name__ == "__main__":
    main()
