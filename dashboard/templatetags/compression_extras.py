"""Small display filters for the dashboard templates."""

from django import template

register = template.Library()


@register.filter
def bytes(value):  # noqa: A001 - the filter's name in templates
    """1536 -> "1.5 KB"; None -> "—"."""
    if value is None or value == "":
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.filter
def percent(value, digits=1):
    """0.1234 -> "12.3 %"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def ms(value):
    """Milliseconds, shown as ms below one second and seconds above."""
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"
