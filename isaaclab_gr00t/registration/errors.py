"""The error raised for a bad task spec or agent preset."""

from __future__ import annotations


class SpecError(ValueError):
    """A task spec or agent preset is invalid; the message names the file and the field."""

    def __init__(self, source: str, field: str | None, message: str):
        self.source = source
        self.field = field
        where = f"{source}: field '{field}'" if field else source
        super().__init__(f"{where}: {message}")
