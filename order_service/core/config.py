"""The service reads its configuration only through `daogou.config` (one source for every process)."""

from __future__ import annotations

from daogou.config import Settings, get_settings, unsafe_settings

__all__ = ["Settings", "get_settings", "unsafe_settings"]
