"""The sources of the compiled library and their build id (stdlib only: build.py runs it too)."""

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def source_files(folder: Path = HERE) -> list[Path]:
    """The C files and every header, by name."""
    return sorted([*folder.glob("*.c"), *folder.glob("*.h")], key=lambda path: path.name)


def build_id(folder: Path = HERE) -> str | None:
    """sha256 over the names and bytes of the sources (None when there are none)."""
    files = source_files(folder)
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
