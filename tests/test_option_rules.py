"""Every bound a user can hit is stated once (compression.engine.BOUNDS): the dashboard form, the
API serializer and the engine give the same answer, with the same message, at and beyond it.
"""

import pytest

from api.serializers import JobOptionsSerializer, PreviewRequestSerializer
from compression.engine import BOUNDS, InvalidOptions, prepare_preview, validate_options
from compression.engine.dimensions import CropBox
from compression.engine.options import CompressOptions
from dashboard.forms import JobOptionsForm
from tests.helpers import png_bytes

CROP = {"crop_x": "x", "crop_y": "y", "crop_width": "width", "crop_height": "height"}
CROP_DEFAULTS = {"crop_x": 0, "crop_y": 0, "crop_width": 5, "crop_height": 5}


def _values(bound):
    """Values at each end of the bound and just beyond it, with whether each is allowed."""
    step = 1 if bound.integer else 0.01
    cases = [(bound.minimum, True), (bound.minimum - step, False)]
    if bound.maximum is not None:
        cases += [(bound.maximum, True), (bound.maximum + step, False)]
    return cases


CASES = [(name, value, allowed) for name, bound in BOUNDS.items() for value, allowed in _values(bound)]


def _engine(name, value):
    """The engine's verdict: None when allowed, else its message."""
    if name == "target_size_kb":  # the faces' unit for target_size_bytes: its bound is checked as is
        return None if BOUNDS[name].contains(value) else BOUNDS[name].message
    if name == "preview_pixels":  # an argument of previews, not a job option
        try:
            prepare_preview(png_bytes(), CompressOptions(), preview_pixels=value)
        except InvalidOptions as exc:
            return str(exc)
        return None
    if name in CROP:
        options = CompressOptions(crop_box=CropBox(**{CROP[k]: v for k, v in {**CROP_DEFAULTS, name: value}.items()}))
    else:
        options = CompressOptions(**{name: value})
    try:
        validate_options(options)
    except InvalidOptions as exc:
        return str(exc)
    return None


def _serializer(name, value):
    if name in CROP:
        data = {"crop": {CROP[k]: v for k, v in {**CROP_DEFAULTS, name: value}.items()}}
    else:
        data = {name: value}
    serializer = (PreviewRequestSerializer if name == "preview_pixels" else JobOptionsSerializer)(data=data)
    if serializer.is_valid():
        return None
    errors = serializer.errors["crop"][CROP[name]] if name in CROP else serializer.errors[name]
    return str(errors[0])


# How the dashboard form spells each option (None: the form does not offer it).
FORM_DATA = {
    "n_colors": lambda v: ("n_colors", {"n_colors": v}),
    "dither": lambda v: ("dither", {"dither": round(v * 100)}),
    "width": lambda v: ("width", {"width": v}),
    "height": lambda v: ("height", {"height": v}),
    **{name: (lambda v, name=name: (name, {**CROP_DEFAULTS, name: v})) for name in CROP},
    "target_size_kb": lambda v: ("target_size_kb", {"target": "size", "target_size_kb": v}),
    "target_psnr": lambda v: ("target_quality", {"target": "quality", "quality_metric": "psnr", "target_quality": v}),
    "target_ssim": lambda v: ("target_quality", {"target": "quality", "quality_metric": "ssim", "target_quality": v}),
}


def _form(name, value):
    field, data = FORM_DATA[name](value)
    form = JobOptionsForm(data={"n_colors": 16, **data})
    if form.is_valid():
        return None
    return form.errors[field][0]


@pytest.mark.parametrize("name, value, allowed", CASES, ids=[f"{n}={v}" for n, v, _ in CASES])
def test_form_serializer_and_engine_agree_at_and_beyond_each_bound(name, value, allowed):
    message = BOUNDS[name].message
    engine = _engine(name, value)
    serializer = _serializer(name, value)
    assert (engine is None, serializer is None) == (allowed, allowed), (engine, serializer)
    if not allowed:
        assert engine.startswith(message)  # the engine may add context (e.g. the whole crop box)
        assert serializer == message
    if name in FORM_DATA:
        form = _form(name, value)
        assert (form is None) == allowed, form
        if not allowed:
            assert form == message


def test_every_bound_is_checked_above():
    """A new bound cannot be added without the faces being compared on it."""
    assert {name for name, _, _ in CASES} == set(BOUNDS)
    offered = set(FORM_DATA) | {"max_iter", "seed", "scale_percent", "target_size_bytes", "png_optimize_level", "preview_pixels"}
    assert offered == set(BOUNDS)
