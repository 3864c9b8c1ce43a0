"""Palette exports of a finished job: JSON data, CSS custom properties, GIMP palette (.gpl)."""


def _rgba(color: str) -> tuple[list[int], int | None]:
    value = color.lstrip("#")
    rgb = [int(value[i : i + 2], 16) for i in (0, 2, 4)]
    alpha = int(value[6:8], 16) if len(value) == 8 else None
    return rgb, alpha


def palette_data(job) -> dict:
    """The palette of a succeeded job, most used colour first."""
    entries = sorted((job.stats or {}).get("palette") or [], key=lambda entry: -entry.get("share", 0))
    colors = []
    for entry in entries:
        rgb, alpha = _rgba(entry["color"])
        colors.append({"color": entry["color"], "rgb": rgb, "alpha": alpha, "share": round(float(entry["share"]), 6)})
    return {"job_id": str(job.id), "n_colors": len(colors), "colors": colors}


def palette_css(data: dict) -> str:
    lines = [f"/* K-Means palette of job {data['job_id']}: {data['n_colors']} colours, most used first. */", ":root {"]
    for index, entry in enumerate(data["colors"], start=1):
        lines.append(f"  --palette-{index}: {entry['color']}; /* {entry['share'] * 100:.2f}% */")
    lines.append("}")
    return "\n".join(lines) + "\n"


def palette_gpl(data: dict) -> str:
    lines = ["GIMP Palette", f"Name: job {data['job_id']}", "Columns: 8", "#"]
    for index, entry in enumerate(data["colors"], start=1):
        r, g, b = entry["rgb"]
        lines.append(f"{r:3d} {g:3d} {b:3d}\tcolor-{index} ({entry['share'] * 100:.2f}%)")
    return "\n".join(lines) + "\n"
