"""A ZIP written while it is sent: constant memory whatever the number of results."""

import zipfile
from collections.abc import Iterable, Iterator

CHUNK_BYTES = 64 * 1024


class _Sink:
    """A write-only, non-seekable file object that hands its bytes to the generator."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.pending = 0
        self.offset = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.pending += len(data)
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.pending = 0
        return data


def stream_zip(members: Iterable[tuple[str, object]]) -> Iterator[bytes]:
    """Yield a ZIP of (archive name, FieldFile) pairs. Stored, not deflated: the images are compressed."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, field_file in members:
            with field_file.storage.open(field_file.name, "rb") as source, archive.open(name, mode="w", force_zip64=True) as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    if sink.pending >= CHUNK_BYTES:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
