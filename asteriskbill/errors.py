"""The one base class for errors a person can act on: the CLI prints their message as one line."""


class UserError(Exception):
    """Bad input or a refused operation; nothing was changed."""
