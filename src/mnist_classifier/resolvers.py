"""Custom resolvers of the configuration (OmegaConf), registered in settings.py."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kedro.io.core import get_protocol_and_path
from kedro.utils import find_kedro_project


def folder_key(folder: str) -> str:
    """A folder's own name in the project's data: its base name and a short hash of
    its full path or URL, e.g. ``custom_digits-3f9a1c0b``.

    Two folders of the same name elsewhere get different keys; the same folder, named
    by a relative or an absolute path or a ``file://`` URL, the same one. A relative
    path is taken from the project's root, as Kedro takes the catalog's paths, wherever
    the run starts (a notebook runs in ``notebooks/``).
    """
    protocol, local = get_protocol_and_path(folder)  # file:///x is the path /x
    where = folder.rstrip("/")  # s3://bucket/scans/ is s3://bucket/scans
    if protocol == "file":
        path = Path(local).expanduser()
        if not path.is_absolute():
            path = (find_kedro_project(Path.cwd()) or Path.cwd()) / path
        where = str(path.resolve())
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", where.rstrip("/").rsplit("/", 1)[-1])
    return f"{name or 'folder'}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"
