"""Inline SVG line charts, drawn server-side so they need no script and no inline style."""

import math


def line_chart(values, *, x_from: int = 1, title: str = "", x_label: str = "", y_label: str = "",
                width: int = 560, height: int = 240) -> dict | None:
    """The chart's geometry, or None below two values: one point is no line (nor a trend)."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if len(values) < 2:
        return None
    left, right, top, bottom = 64, 16, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    n = len(values)

    def x(i):
        return left + plot_w * i / (n - 1)

    def y(v):
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    points = [(round(x(i), 1), round(y(v), 1)) for i, v in enumerate(values)]
    tick_step = (hi - lo) / 4
    y_ticks = [{"y": round(y(lo + tick_step * t), 1), "label": tick_label(lo + tick_step * t, tick_step)}
               for t in range(5)]
    step = max(1, math.ceil(n / 8))
    x_ticks = [{"x": round(x(i), 1), "label": str(i + x_from)} for i in range(0, n, step)]
    return {
        "width": width, "height": height, "left": left, "top": top, "right": width - right, "bottom": height - bottom,
        "path": "M" + " L".join(f"{px},{py}" for px, py in points),
        "points": [{"x": px, "y": py} for px, py in points] if n <= 60 else [],
        "y_ticks": y_ticks, "x_ticks": x_ticks, "title": title, "x_label": x_label, "y_label": y_label,
        "mid_x": left + plot_w / 2, "first": short_number(values[0]), "last": short_number(values[-1]), "n": n,
    }


def tick_label(value: float, step: float) -> str:
    """Enough digits that neighbouring ticks differ (a converging inertia moves little)."""
    if abs(value) >= 1e6 and step >= 1e4:
        return short_number(value)
    digits = 0 if step >= 10 else 1 if step >= 1 else min(6, 1 - math.floor(math.log10(step)))
    return f"{value:,.{digits}f}"


def short_number(value: float) -> str:
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.3g}"
