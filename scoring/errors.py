"""Exceptions raised by the scorers, each with a message fit to show a user."""


class ScoringError(Exception):
    """A scorer could not produce a result for this input."""


class AudioError(ScoringError):
    """The audio cannot be scored."""


class AudioMissingError(AudioError):
    """The audio file does not exist or is empty."""


class AudioDecodeError(AudioError):
    """The audio file is not a format or stream that can be decoded."""


class AudioTooLongError(AudioError):
    """The audio is longer than the configured maximum duration."""


class GrammarBackendError(ScoringError):
    """The grammar checker is not installed, not reachable or returned garbage."""


class UnsupportedLanguageError(ScoringError):
    """The chosen grammar backend does not check this language."""
