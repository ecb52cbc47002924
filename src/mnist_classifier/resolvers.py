"""Custom resolvers of the configuration (OmegaConf), registered in settings.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def folder_key(folder: str) -> str:
    """A folder's own name in the project's data: its base name and a short hash of
    its full path or URL, e.g. ``custom_digits-3f9a1c0b``.

    Two folders of the same name elsewhere get different keys; the same folder, named
    by a relative or an absolute path, the same one.
    """
    where = folder if "://" in folder else str(Path(folder).expanduser().resolve())
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", where.rstrip("/").rsplit("/", 1)[-1])
    return f"{name or 'folder'}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"
