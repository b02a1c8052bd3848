"""A name -> class registry with helpful errors for unknown names."""

from __future__ import annotations

from ..errors import SpecError, suggest
from ..i18n import _


class Registry(dict):
    """Maps a spec name (``"sigmoid"``) to the object that implements it."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, cls):
        """Class decorator: register one instance of ``cls`` under ``cls.name``."""
        self[cls.name] = cls()
        return cls

    def get_named(self, name: str, where: str | None = None):
        try:
            return self[name]
        except (KeyError, TypeError):
            raise SpecError(_("unknown {kind} {name}").format(
                kind=self.kind, name=repr(name)) + suggest(name, self), where) from None
