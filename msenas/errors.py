"""User-facing errors: the CLI prints str(error) on one line and exits non-zero."""


class MsenasError(Exception):
    """Base of every error caused by bad input (files, config, data, cluster address)."""
