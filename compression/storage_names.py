"""Storage object names. Namespaced per user and never built from client-supplied names.

Used as `upload_to` callables, so the names are chosen by `FieldFile.save()` whatever name the
caller passes; `default_storage` may still add a suffix if the name is taken.
"""

# Detected format -> file extension. Anything else keeps the format name.
_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}


def extension_for(fmt: str) -> str:
    fmt = (fmt or "bin").lower()
    return _EXTENSIONS.get(fmt, fmt)


def upload_file_name(instance, filename: str) -> str:
    """users/<owner id>/uploads/<upload uuid>.<ext of the detected format>."""
    return f"users/{instance.owner_id}/uploads/{instance.id}.{extension_for(instance.format)}"


def result_file_name(instance, filename: str) -> str:
    """users/<owner id>/results/<job uuid>.<output format>."""
    return f"users/{instance.owner_id}/results/{instance.id}.{extension_for(instance.result_format)}"


THUMBNAIL_FORMAT = "webp"


def thumbnail_file_name(instance, filename: str) -> str:
    """users/<owner id>/thumbnails/<job uuid>.webp (a small preview of the result)."""
    return f"users/{instance.owner_id}/thumbnails/{instance.id}.{THUMBNAIL_FORMAT}"


def user_prefix(user_id) -> str:
    return f"users/{user_id}/"
