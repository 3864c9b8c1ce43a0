"""Speed, quality and memory of `compression.engine.quantize` against the usual baselines.

    .venv/bin/python bench/bench_engine.py              # the full run (about 5 minutes)
    .venv/bin/python bench/bench_engine.py --quick      # 3 Kodak photos + 1024², K=16 and 64
    .venv/bin/python bench/bench_engine.py --sizes 1024,4096 --ks 64 --no-memory

Images: Kodak photos (`photos/`, 768×512) and the three `large/` photos resized with Lanczos to
1024², 2048², 4096² and at full size (11.9-24 MP). Methods, all on every pixel of the image:

- ours         `quantize(pixels, K)` (exact weighted K-Means on the colour histogram)
- sklearn      `KMeans(K, init="k-means++", n_init=1)` full fit on all pixels (float64), Kodak and
               1024² only (it takes seconds to minutes beyond)
- minibatch    `MiniBatchKMeans(K, n_init=1)` fitted on a 100,000-pixel sample, then predict all
- median_cut / fast_octree   Pillow `Image.quantize(K, method=...)`
- pngquant     `pngquant --speed 3 --nofs K` through a pipe; input PNG written with compress_level=1
               (its time includes decoding that PNG and encoding its own output)

Quality is the inertia of what each method would ship: the mean over pixels of the squared RGB
distance (0-255 units, summed over channels) between the input and its palette colour, with the
palette rounded to uint8 and every pixel on its nearest entry (sklearn and MiniBatch centres are
rounded and remapped the same way; Pillow and pngquant outputs are decoded and compared as they
are). Tables show medians over the images of each size; ratios are time(baseline) / time(ours) and
inertia(ours) / inertia(baseline) - 1 (negative = ours is better).

Memory (on unless --no-memory): peak RSS above baseline of `quantize` on the 24 MP photo (baseline:
the decoded pixels loaded), and of the whole `compress` of the 24 MP JPEG (baseline: interpreter
with the engine imported and the file's bytes read), each in a fresh subprocess: the peak
(VmHWM) is reset through /proc/self/clear_refs just before the measured call. In bytes per
pixel; plus `compress` time against decode + encode alone.

Timings come from the machine this runs on; see docs/benchmarks.md for how they were taken.
"""

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from corpus import require  # noqa: E402  (bench/ is this script's folder)
from compression.engine.kmeans import quantize  # noqa: E402
from compression.engine.remap import remap  # noqa: E402

KODAK_DEFAULT = ("kodim03", "kodim05", "kodim08", "kodim15", "kodim20", "kodim23")
SIZES = ("kodak", "1024", "2048", "4096", "full")
SKLEARN_SIZES = {"kodak", "1024"}
CHEAP_AT_FULL = {"ours", "fast_octree", "median_cut", "pngquant"}
MINIBATCH_SAMPLE = 100_000


# --------------------------------------------------------------------------- images


def load_images(sizes, n_kodak):
    """{size: [(name, pixels)]}, the large photos resized once per size with Lanczos."""
    out = {size: [] for size in sizes}
    if "kodak" in sizes:
        for path in require(*(f"photos/{name}.png" for name in KODAK_DEFAULT[:n_kodak])):
            name = path.stem
            with Image.open(path) as im:
                out["kodak"].append((name, np.asarray(im.convert("RGB"))))
    large = [s for s in sizes if s != "kodak"]
    if large:
        for path in require("large/*.jpg"):
            with Image.open(path) as im:
                im = im.convert("RGB")
                for size in large:
                    resized = im if size == "full" else im.resize((int(size), int(size)), Image.LANCZOS)
                    out[size].append((path.name.split("-")[0], np.asarray(resized)))
    return out


def inertia(pixels, output):
    """Mean squared RGB distance per pixel, in blocks of rows to bound memory."""
    total = 0.0
    step = max(1, (1 << 20) // pixels.shape[1])
    for y in range(0, pixels.shape[0], step):
        diff = pixels[y : y + step].astype(np.float32) - output[y : y + step].astype(np.float32)
        total += float(np.einsum("ijk,ijk->", diff, diff, dtype=np.float64))
    return total / (pixels.shape[0] * pixels.shape[1])


def palette_inertia(pixels, centers):
    """Inertia of float centres as shipped: rounded to uint8, every pixel on its nearest entry."""
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    palette = np.unique(palette, axis=0)
    return inertia(pixels, palette[remap(pixels, palette)])


# --------------------------------------------------------------------------- methods


def cpu_seconds():
    """CPU time of this process (all threads) plus its finished children (pngquant)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _measured(function, *args):
    """(value, extra) where extra["cpu_excluded"] is the CPU time the quality measurement took."""
    before = time.process_time()
    value = function(*args)
    return value, {"cpu_excluded": time.process_time() - before}


def run_ours(pixels, k):
    start = time.perf_counter()
    q = quantize(pixels, k)
    elapsed = time.perf_counter() - start
    return elapsed, q.inertia, {"n_iter": q.n_iter, "distinct": q.n_unique_colors}


def run_sklearn(pixels, k):
    from sklearn.cluster import KMeans

    flat = pixels.reshape(-1, 3).astype(np.float64)
    start = time.perf_counter()
    model = KMeans(k, init="k-means++", n_init=1, random_state=0).fit(flat)
    elapsed = time.perf_counter() - start
    value, extra = _measured(palette_inertia, pixels, model.cluster_centers_)
    return elapsed, value, {**extra, "n_iter": int(model.n_iter_)}


def run_minibatch(pixels, k):
    from sklearn.cluster import MiniBatchKMeans

    flat = pixels.reshape(-1, 3)
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    sample = flat[rng.choice(len(flat), min(MINIBATCH_SAMPLE, len(flat)), replace=False)].astype(np.float64)
    model = MiniBatchKMeans(k, n_init=1, random_state=0).fit(sample)
    labels = np.concatenate([model.predict(flat[i : i + 1 << 20].astype(np.float64)) for i in range(0, len(flat), 1 << 20)])
    elapsed = time.perf_counter() - start
    del labels  # timed as a real caller would use it; quality is measured on the rounded palette
    return (elapsed, *_measured(palette_inertia, pixels, model.cluster_centers_))


def _pillow(method):
    def run(pixels, k):
        start = time.perf_counter()
        out = Image.fromarray(pixels).quantize(k, method=method)
        elapsed = time.perf_counter() - start
        return (elapsed, *_measured(inertia, pixels, np.asarray(out.convert("RGB"))))

    return run


def run_pngquant(pixels, k):
    # Writing the input PNG is our cost, not pngquant's: it happens before the timers start.
    before = time.process_time()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    encoding = time.process_time() - before
    start = time.perf_counter()
    proc = subprocess.run(["pngquant", "--speed", "3", "--nofs", str(k), "-"], input=buffer.getvalue(), capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"pngquant exited {proc.returncode}: {proc.stderr.decode()[:200]}")
    with Image.open(io.BytesIO(proc.stdout)) as out:
        value, extra = _measured(inertia, pixels, np.asarray(out.convert("RGB")))
    extra["cpu_excluded"] += encoding
    return elapsed, value, extra


METHODS = {
    "ours": run_ours,
    "sklearn": run_sklearn,
    "minibatch": run_minibatch,
    "median_cut": _pillow(Image.Quantize.MEDIANCUT),
    "fast_octree": _pillow(Image.Quantize.FASTOCTREE),
    "pngquant": run_pngquant,
}


def methods_for(size, args):
    names = list(METHODS)
    if size not in SKLEARN_SIZES or args.no_sklearn:
        names.remove("sklearn")
    if size == "full":
        names = [n for n in names if n in CHEAP_AT_FULL]
    return [n for n in names if not args.methods or n in args.methods]


# --------------------------------------------------------------------------- memory / pipeline

MEMORY_QUANTIZE = r"""
import sys, time, numpy as np
def _status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
def _reset_peak():
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

from PIL import Image
sys.path.insert(0, {repo!r})
from compression.engine.kmeans import quantize
with Image.open({path!r}) as im:
    pixels = np.asarray(im.convert("RGB"))
quantize(pixels[:64, :64].copy(), 4)  # warm imports
_reset_peak()
base = _status_kb("VmRSS")
start = time.perf_counter()
q = quantize(pixels, {k})
elapsed = time.perf_counter() - start
peak = _status_kb("VmHWM")
print(peak - base, pixels.shape[0] * pixels.shape[1], elapsed)
"""

MEMORY_COMPRESS = r"""
import sys, time
def _status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
def _reset_peak():
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

sys.path.insert(0, {repo!r})
from compression.engine import CompressOptions, compress
data = open({path!r}, "rb").read()
_reset_peak()
base = _status_kb("VmRSS")
start = time.perf_counter()
result = compress(data, CompressOptions(n_colors={k}))
elapsed = time.perf_counter() - start
peak = _status_kb("VmHWM")
print(peak - base, result.width * result.height, elapsed)
"""

PIPELINE_RATIO = r"""
import sys, time
sys.path.insert(0, {repo!r})
from compression.engine import CompressOptions, compress
from compression.engine.decode import decode, normalize
from compression.engine.encode import encode
data = open({path!r}, "rb").read()
compress(data, CompressOptions(n_colors={k}))  # warm-up (imports, caches)
start = time.perf_counter(); result = compress(data, CompressOptions(n_colors={k})); total = time.perf_counter() - start
start = time.perf_counter(); pixels = normalize(decode(data, max_pixels=100_000_000)); decode = time.perf_counter() - start
import numpy as np
from compression.engine.kmeans import quantize
q = quantize(pixels, {k})
start = time.perf_counter(); encode(q.indices, q.palette); encode = time.perf_counter() - start
print(total, decode, encode)
"""


def pipeline_available():
    return (REPO / "compression" / "engine" / "pipeline.py").exists()


def run_snippet(template, **kw):
    code = template.format(repo=str(REPO), **kw)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1] if proc.stderr else f"exit {proc.returncode}"
    return [float(v) for v in proc.stdout.split()], None


def memory_section(k):
    [photo] = require("large/rachel-hisko-rEM3cK8F1pk-unsplash.jpg")
    lines = [f"## Memory and pipeline (24 MP photo `{photo.name}`, K={k})", ""]
    values, error = run_snippet(MEMORY_QUANTIZE, path=str(photo), k=k)
    if values:
        peak, pixels, elapsed = values
        lines.append(f"- quantize: peak RSS +{peak / 2**20:.0f} MiB above baseline = {peak / pixels:.1f} bytes/pixel (goal <= 16); {elapsed:.2f} s")
    else:
        lines.append(f"- quantize: failed: {error}")
    if not pipeline_available():
        lines.append("- compress: compression/engine/pipeline.py not present yet; skipped")
        return lines
    values, error = run_snippet(MEMORY_COMPRESS, path=str(photo), k=k)
    if values:
        peak, pixels, elapsed = values
        lines.append(f"- compress: peak RSS +{peak / 2**20:.0f} MiB above baseline = {peak / pixels:.1f} bytes/pixel (goal <= 16); {elapsed:.2f} s")
    else:
        lines.append(f"- compress: failed: {error}")
    values, error = run_snippet(PIPELINE_RATIO, path=str(photo), k=k)
    if values:
        total, decode, encode = values
        lines.append(
            f"- compress {total:.2f} s vs decode {decode:.2f} s + encode {encode:.2f} s: ratio {total / (decode + encode):.2f} (goal <= 2)"
        )
    else:
        lines.append(f"- compress vs decode+encode: failed: {error}")
    return lines


# --------------------------------------------------------------------------- report


def median(values):
    return statistics.median(values) if values else float("nan")


def report(results, sizes, ks):
    """Markdown tables: per size, per K, median time and inertia per method, ratios to ours."""
    lines = []
    for size in sizes:
        rows = [r for r in results if r["size"] == size]
        if not rows:
            continue
        n_images = len({r["image"] for r in rows})
        label = "Kodak 768×512" if size == "kodak" else ("full size (11.9-24 MP)" if size == "full" else f"{size}×{size}")
        lines += [f"### {label} ({n_images} images, medians)", ""]
        lines += [
            "| K | method | wall s | CPU s | inertia | ours faster (wall) | ours faster (CPU) | ours' inertia vs it |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k in ks:
            per_method = {}
            for r in rows:
                if r["k"] == k:
                    per_method.setdefault(r["method"], []).append(r)
            ours = {r["image"]: r for r in per_method.get("ours", [])}
            for method, items in per_method.items():
                t = median([r["time"] for r in items])
                cpu = median([r["cpu"] for r in items])
                inert = median([r["inertia"] for r in items])
                if method == "ours" or not ours:
                    speed = speed_cpu = quality = "—"
                else:
                    speed = f"{median([r['time'] / ours[r['image']]['time'] for r in items if r['image'] in ours]):.1f}×"
                    speed_cpu = f"{median([r['cpu'] / ours[r['image']]['cpu'] for r in items if r['image'] in ours]):.1f}×"
                    ratio = median([ours[r['image']]['inertia'] / r['inertia'] - 1 for r in items if r['image'] in ours])
                    quality = f"{ratio * 100:+.1f}%"
                extra = ""
                if method == "ours":
                    extra = f" (iters {median([r['n_iter'] for r in items]):.0f}, distinct {median([r['distinct'] for r in items]):,.0f})"
                lines.append(f"| {k} | {method}{extra} | {t:.3f} | {cpu:.3f} | {inert:.2f} | {speed} | {speed_cpu} | {quality} |")
        lines.append("")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 Kodak photos and 1024², K=16,64, no memory")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma list of {','.join(SIZES)}")
    parser.add_argument("--ks", default="16,64,256")
    parser.add_argument("--kodak", type=int, default=len(KODAK_DEFAULT), help="number of Kodak photos")
    parser.add_argument("--methods", default="", help="comma list of methods (default: all that apply)")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.ks, args.kodak, args.no_memory = "kodak,1024", "16,64", 3, True
    sizes = [s for s in args.sizes.split(",") if s]
    ks = [int(k) for k in args.ks.split(",")]
    args.methods = [m for m in args.methods.split(",") if m]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        parser.error(f"unknown sizes {bad}")

    started = time.perf_counter()
    images = load_images(sizes, args.kodak)
    results = []
    for size in sizes:
        for name, pixels in images[size]:
            for k in ks:
                for method in methods_for(size, args):
                    cpu_before = cpu_seconds()
                    elapsed, inert, extra = METHODS[method](pixels, k)
                    cpu = cpu_seconds() - cpu_before - extra.pop("cpu_excluded", 0.0)
                    results.append({"size": size, "image": name, "k": k, "method": method, "time": elapsed, "cpu": cpu, "inertia": inert, **extra})
                    print(f"{size:>5} {name:<10} K={k:<3} {method:<12} {elapsed:8.3f} s  cpu {cpu:8.3f} s  inertia {inert:9.2f}", file=sys.stderr, flush=True)
        images[size] = None  # free the big arrays as we go
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {len(results)} runs in {time.perf_counter() - started:.0f} s.", ""]
    lines += report(results, sizes, ks)
    if not args.no_memory:
        lines += memory_section(64)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
