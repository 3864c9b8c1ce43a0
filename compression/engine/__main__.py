"""Command line: `python -m compression.engine INPUT -k 16 -o OUT.png [options]`.

Exit codes: 0 success, 2 bad input or options (message on stderr), 1 the output could not be
written. `--json` prints the statistics as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .errors import EngineError
from .options import CompressOptions, CropBox
from .pipeline import compress
from .presets import OUTPUT_FORMATS, RESIZE_MODE_KEYS

EXIT_BAD_INPUT = 2
EXIT_WRITE_FAILED = 1
_SIZE_UNITS = {"": 1, "B": 1, "KB": 1000, "K": 1000, "KIB": 1024, "MB": 1000**2, "M": 1000**2, "MIB": 1024**2}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """'100KB' -> 100000, '1.5MiB' -> 1572864, '2048' -> 2048 (KB and MB are decimal)."""
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 100KB, 1.5MB or 20000")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_crop(text: str) -> CropBox:
    """'x,y,w,h' -> CropBox."""
    parts = text.split(",")
    try:
        x, y, width, height = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a crop box x,y,width,height") from None
    return CropBox(x, y, width, height)


def parse_color(text: str) -> tuple[int, int, int]:
    """'#ffffff' or 'ffffff' -> (255, 255, 255)."""
    value = text.lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a colour like #ffffff")
    return tuple(bytes.fromhex(value))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compression.engine",
        description="Compress an image by K-Means colour quantization into an indexed PNG, WebP or GIF.",
    )
    parser.add_argument("input", help="input image file (format detected from its bytes)")
    parser.add_argument("-o", "--output", help="output file (default: INPUT stem + .k<K>.<format>)")
    parser.add_argument("-k", "--colors", type=int, default=16, help="palette size K, 2-256 (default 16)")
    parser.add_argument("--color-space", choices=("rgb", "oklab"), default="rgb")
    parser.add_argument("--dither", type=float, default=0.0, help="Floyd-Steinberg strength 0-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=100)
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--target-size", type=parse_size, help="byte budget, e.g. 100KB")
    target.add_argument("--target-psnr", type=float, help="smallest K reaching this PSNR (dB)")
    target.add_argument("--target-ssim", type=float, help="smallest K reaching this SSIM")
    parser.add_argument("--resize", choices=RESIZE_MODE_KEYS, help="resize mode (needs --width and --height)")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--scale", type=float, help="scale by percent")
    parser.add_argument("--crop", type=parse_crop, help="crop box x,y,width,height (applied first)")
    parser.add_argument("--background", type=parse_color, help="padding colour for --resize fit, e.g. #ffffff")
    parser.add_argument("--allow-upscale", action="store_true")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, help="output format (default: from -o, else png)")
    parser.add_argument("--optimize", type=int, metavar="N", help="oxipng level 0-6 (PNG only)")
    parser.add_argument("--keep-metadata", action="store_true", help="do not strip metadata")
    parser.add_argument("--max-pixels", type=int, default=CompressOptions.max_pixels)
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    return parser


def _output_format(args) -> str:
    if args.format:
        return args.format
    if args.output:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in OUTPUT_FORMATS:
            return suffix
    return "png"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    output_format = _output_format(args)
    options = CompressOptions(
        n_colors=args.colors,
        color_space=args.color_space,
        max_iter=args.max_iter,
        seed=args.seed,
        dither=args.dither,
        crop_box=args.crop,
        scale_percent=args.scale,
        resize_mode=args.resize,
        width=args.width,
        height=args.height,
        allow_upscale=args.allow_upscale,
        background=args.background,
        target_size_bytes=args.target_size,
        target_psnr=args.target_psnr,
        target_ssim=args.target_ssim,
        output_format=output_format,
        png_optimize_level=args.optimize,
        strip_metadata=not args.keep_metadata,
        max_pixels=args.max_pixels,
    )
    try:
        with open(args.input, "rb") as handle:
            result = compress(handle, options)
    except OSError as exc:
        print(f"error: cannot read {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    output = args.output or str(Path(args.input).with_suffix(f".k{args.colors}.{output_format}"))
    try:
        Path(output).write_bytes(result.data)
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_WRITE_FAILED

    stats = result.stats
    if args.json:
        print(json.dumps({"output": output, **stats.to_dict()}, indent=2))
    else:
        target = ""
        if stats.target_met is not None:
            target = f", target {'met' if stats.target_met else 'NOT met'}"
        print(
            f"{output}: {result.width}x{result.height}, {stats.n_colors_used} colours, "
            f"{stats.input_bytes:,} -> {stats.output_bytes:,} bytes ({stats.file_ratio:.2f}x), "
            f"PSNR {stats.psnr:.2f} dB, SSIM {stats.ssim:.4f}{target}"
        )
        for warning in stats.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
