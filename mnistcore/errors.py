"""Errors a user can act on. The CLI prints them as one line; the app shows them as a message.
Messages never echo what a user typed or a server path: they are shown to a class."""


class MnistcoreError(Exception):
    """Base class: the message is written for the user, not for a developer."""


class DatasetError(MnistcoreError):
    pass


class CheckpointError(MnistcoreError):
    pass


class PreprocessError(MnistcoreError):
    pass


class StorageError(MnistcoreError):
    """The server could not write (or read) its own files: a full or read-only disk."""


class LimitError(MnistcoreError):
    """A request beyond what the class's server allows one student."""
