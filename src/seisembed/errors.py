"""Exceptions with meaning, shared by every stage."""


class SeisembedError(Exception):
    """Base class of seisembed's own errors."""


class ConfigError(SeisembedError, ValueError):
    """A configuration mistake; the message names the key at fault."""


class InputError(SeisembedError, ValueError):
    """Bad input data; the message names the file, row/column, event or station at fault."""
