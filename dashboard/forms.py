"""Dashboard forms. They validate what a person typed and hand plain data to the services."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from compression.engine import BOUNDS
from compression.engine.presets import COLOR_SPACES, COMPRESSION_PRESETS, DIMENSION_PRESETS, INITS, OUTPUT_FORMATS, RESIZE_MODES
from compression.models import ColorSpace, Upload

COLOR_SPACE_LABELS = dict(ColorSpace.choices)  # one label per space, the model's, on every face
FORMAT_LABELS = {"png": "PNG", "webp": "WebP", "gif": "GIF"}
TARGET_CHOICES = [("none", "None"), ("size", "File size"), ("quality", "Quality")]
QUALITY_METRICS = [("psnr", "PSNR (dB)"), ("ssim", "SSIM (0–1)")]


class AsciiNumberMixin:
    """Numbers written with ASCII digits only: Python's int() also reads "٣" as 3."""

    def to_python(self, value):
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerField(AsciiNumberMixin, forms.IntegerField):
    pass


class FloatField(AsciiNumberMixin, forms.FloatField):
    pass


def bounded(name: str, *, scale: float = 1, **kwargs) -> forms.Field:
    """A number field whose range and message are the engine's (compression.engine.BOUNDS).

    `scale` shows the option in other units (dithering as a percentage of the engine's 0-1).
    """
    bound = BOUNDS[name]
    integer = bound.integer or scale != 1
    field_class = IntegerField if integer else FloatField
    message = bound.message.replace("%", "%%")  # Django %-formats the messages with the limit
    maximum = None if bound.maximum is None else bound.maximum * scale
    return field_class(
        min_value=bound.minimum * scale, max_value=maximum,
        error_messages={key: message for key in ("invalid", "min_value", "max_value")}, **kwargs,
    )


class JobOptionsForm(forms.Form):
    """Every compression option the dashboard offers. `to_options()` gives `job_create`'s dict."""

    preset = forms.ChoiceField(
        required=False, choices=[("", "Custom")] + [(p.key, p.name) for p in COMPRESSION_PRESETS]
    )
    n_colors = bounded("n_colors", label="Colours (K)", initial=16)
    auto = forms.BooleanField(required=False, label="Smallest file that looks the same")
    init = forms.ChoiceField(choices=[(i, i) for i in INITS], initial="k-means++", required=False)
    color_space = forms.ChoiceField(
        label="Colour space", choices=[(c, COLOR_SPACE_LABELS.get(c, c)) for c in COLOR_SPACES], initial="rgb",
        required=False,
    )
    dither = bounded("dither", scale=100, label="Dithering (%)", initial=0, required=False)
    output_format = forms.ChoiceField(
        label="Format", choices=[(f, FORMAT_LABELS.get(f, f)) for f in OUTPUT_FORMATS], initial="png", required=False
    )
    resize_mode = forms.ChoiceField(
        label="Resize mode", required=False, choices=[("", "Keep size")] + [(m.key, m.name) for m in RESIZE_MODES]
    )
    dimension_preset = forms.ChoiceField(
        required=False,
        choices=[("", "Custom")] + [(p.key, f"{p.name} ({p.width}×{p.height})") for p in DIMENSION_PRESETS],
    )
    width = bounded("width", required=False)
    height = bounded("height", required=False)
    crop_x = bounded("crop_x", required=False)
    crop_y = bounded("crop_y", required=False)
    crop_width = bounded("crop_width", required=False)
    crop_height = bounded("crop_height", required=False)
    target = forms.ChoiceField(choices=TARGET_CHOICES, initial="none", required=False)
    target_size_kb = bounded("target_size_kb", label="Target size (KB)", required=False)
    quality_metric = forms.ChoiceField(choices=QUALITY_METRICS, initial="psnr", required=False)
    target_quality = FloatField(label="Target quality", required=False)

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("resize_mode") or ""
        width, height = cleaned.get("width"), cleaned.get("height")
        if mode and (width is None or height is None):
            self.add_error("width", f"Resize mode “{mode}” needs both a width and a height.")
        elif not mode and width is not None and height is not None:
            self.add_error("resize_mode", "With both a width and a height, choose how to resize: fit, fill, stretch or crop.")

        crop = [cleaned.get(k) for k in ("crop_x", "crop_y", "crop_width", "crop_height")]
        if any(v is not None for v in crop) and (cleaned.get("crop_width") is None or cleaned.get("crop_height") is None):
            self.add_error("crop_width", "A crop box needs a width and a height.")

        target = cleaned.get("target") or "none"
        if target == "size" and cleaned.get("target_size_kb") is None:
            self.add_error("target_size_kb", "Enter the target size in KB, or choose no target.")
        if target == "quality":
            metric, value = cleaned.get("quality_metric") or "psnr", cleaned.get("target_quality")
            bound = BOUNDS[f"target_{metric}"]
            if value is None:
                self.add_error("target_quality", "Enter the target quality, or choose no target.")
            elif not bound.contains(value):
                self.add_error("target_quality", bound.message)
        return cleaned

    def first_error(self) -> str:
        """The first error, led by the label of its field: "Colours (K): K must be …"."""
        name, errors = next(iter(self.errors.items()))
        if name == NON_FIELD_ERRORS:
            return errors[0]
        return f"{self.fields[name].label or name}: {errors[0]}"

    def to_options(self) -> dict:
        data = self.cleaned_data
        target = data.get("target") or "none"
        metric = data.get("quality_metric") or "psnr"
        has_crop = data.get("crop_width") is not None and data.get("crop_height") is not None
        options = {
            "n_colors": data["n_colors"],
            "auto": bool(data.get("auto")),
            "init": data.get("init") or "k-means++",
            "color_space": data.get("color_space") or "rgb",
            "dither": (data.get("dither") or 0) / 100,
            "output_format": data.get("output_format") or "png",
            "resize_mode": data.get("resize_mode") or "",
            "width": data.get("width"),
            "height": data.get("height"),
            "crop_x": (data.get("crop_x") or 0) if has_crop else None,
            "crop_y": (data.get("crop_y") or 0) if has_crop else None,
            "crop_width": data.get("crop_width") if has_crop else None,
            "crop_height": data.get("crop_height") if has_crop else None,
            "target_size_bytes": round(data["target_size_kb"] * 1024) if target == "size" else None,
            "target_psnr": data.get("target_quality") if target == "quality" and metric == "psnr" else None,
            "target_ssim": data.get("target_quality") if target == "quality" and metric == "ssim" else None,
        }
        return options

    def to_changes(self, posted_keys) -> dict:
        """Only the options whose controls were submitted: a re-run keeps everything else."""
        options = self.to_options()
        return {key: value for key, value in options.items() if _OPTION_SOURCE[key] in posted_keys}

    @classmethod
    def initial_from_job(cls, job) -> dict:
        """Pre-fill the form with a job's options (re-run with changes)."""
        initial = {
            "n_colors": job.n_colors,
            "auto": job.auto,
            "init": job.init,
            "color_space": job.color_space,
            "dither": round((job.dither or 0) * 100),
            "output_format": job.output_format,
            "resize_mode": job.resize_mode,
            "width": job.width,
            "height": job.height,
            "crop_x": job.crop_x,
            "crop_y": job.crop_y,
            "crop_width": job.crop_width,
            "crop_height": job.crop_height,
            "target": "none",
        }
        if job.target_size_bytes:
            initial.update(target="size", target_size_kb=max(1, job.target_size_bytes // 1024))
        elif job.target_psnr is not None:
            initial.update(target="quality", quality_metric="psnr", target_quality=job.target_psnr)
        elif job.target_ssim is not None:
            initial.update(target="quality", quality_metric="ssim", target_quality=job.target_ssim)
        return initial


# Which submitted control carries each option (the crop box and the target come as groups).
_OPTION_SOURCE = {
    "n_colors": "n_colors",
    "auto": "auto",
    "init": "init",
    "color_space": "color_space",
    "dither": "dither",
    "output_format": "output_format",
    "resize_mode": "resize_mode",
    "width": "width",
    "height": "height",
    "crop_x": "crop_width",
    "crop_y": "crop_width",
    "crop_width": "crop_width",
    "crop_height": "crop_width",
    "target_size_bytes": "target",
    "target_psnr": "target",
    "target_ssim": "target",
}


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        label="File name", required=False, max_length=Upload._meta.get_field("original_name").max_length,
        widget=forms.SearchInput(attrs={"placeholder": "Part of the name"}),
    )
    STATUS_CHOICES = [
        ("", "Any status"),
        ("queued", "Queued"),
        ("running", "Running"),
        ("succeeded", "Succeeded"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
    ]
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    output_format = forms.ChoiceField(
        label="Format", choices=[("", "Any format")] + [(f, FORMAT_LABELS.get(f, f)) for f in OUTPUT_FORMATS], required=False
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", f"“To” ({date_to:%Y-%m-%d}) is before “From” ({date_from:%Y-%m-%d}): swap them.")
        return cleaned
