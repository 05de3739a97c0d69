"""Errors a user can act on. The CLI prints them as one line; the app shows them as a message."""


class MnistcoreError(Exception):
    """Base class: the message is written for the user, not for a developer."""


class DatasetError(MnistcoreError):
    pass


class CheckpointError(MnistcoreError):
    pass


class PreprocessError(MnistcoreError):
    pass
