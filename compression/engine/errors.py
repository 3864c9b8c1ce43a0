"""Typed engine errors. Messages are written for the person who sent the image."""


class EngineError(Exception):
    """Base class of every error the engine raises on bad input."""


class InvalidImage(EngineError):
    """The bytes are not a decodable image, or the options do not fit this image."""


class UnsupportedFormat(EngineError):
    """A real file of a kind we do not decode (SVG, PDF, HEIC, ...)."""


class ImageTooLarge(EngineError):
    """The image has more pixels than the configured limit."""


class ImageTooCostly(InvalidImage):
    """Decoding would cost more than allowed: a structure (huge TIFF tiles, thousands of pages,
    frames or JPEG scans) refused from the headers, or a decode that ran out of its time cap.

    A subclass of InvalidImage, so code that knows only InvalidImage still refuses the file; the
    platform answers it with 422 (the file is well-formed enough but too costly to process).
    """


class InvalidOptions(EngineError, ValueError):
    """An option is out of range or does not fit this image.

    `field` names the option (e.g. "n_colors", "crop"), so forms and the API can attach the
    message to it; None when no single option is at fault.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field
