"""Ownership of library handles by Python objects."""

from __future__ import annotations

from typing import Optional

from . import _lib


class Handle:
    """Owns one library handle and frees it with `free_name` when collected (or on close())."""

    _free_name = ""

    def __init__(self, handle: int) -> None:
        self._handle: Optional[int] = handle

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise _lib.AERecError(f"this {type(self).__name__} was closed", _lib.ERR_STALE_HANDLE)
        return self._handle

    def close(self) -> None:
        """Frees the library object now (later use raises AERecError)."""
        h, self._handle = self._handle, None
        if h is not None:
            _lib.call(self._free_name, h)

    def __del__(self) -> None:
        h = getattr(self, "_handle", None)
        if h is not None:
            try:
                getattr(_lib.lib(), self._free_name)(h)
            except Exception:  # interpreter shutdown
                pass
            self._handle = None
