"""Exceptions a user can cause with a file; each message says what is wrong and how to fix it."""


class DataError(ValueError):
    """A data file is missing, malformed or does not match the expected layout."""


class ImageError(ValueError):
    """An image file cannot be read as a digit (not an image, blank, too large)."""


class NotAnImageError(ImageError):
    """The bytes are not an image format Pillow can read."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than allowed (checked before decoding it)."""


class BlankImageError(ImageError):
    """The image holds no ink: blank, or almost no contrast."""
