"""Django system checks of the core (`manage.py check` and every management command run them)."""

from django.core.checks import Warning, register


@register()
def engine_library_check(app_configs, **kwargs):
    """The engine's compiled loops: without them Django runs, but every compression fails."""
    from compression.engine import native

    state = native.status()
    if state.ok:
        return []
    return [
        Warning(
            state.message,
            hint="Uploads, history, the admin and the API work; every compression job fails until it is built.",
            id="compression.W001",
        )
    ]
