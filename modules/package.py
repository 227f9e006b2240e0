"""Packages ``functions/`` as the Lambda zip: only our code, deterministic bytes (fixed
timestamps and order), so the same source always gives the same hash and no diff."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


def build_functions_zip(source: Path, destination: Path) -> str:
    """Zip ``source`` (a package directory) under its own name into ``destination`` and
    return the base64 SHA-256 Lambda expects as ``source_code_hash``."""
    source, destination = Path(source), Path(destination)
    files = sorted(path for path in source.rglob("*.py") if "__pycache__" not in path.parts)
    if not (source / "__init__.py").exists():
        raise FileNotFoundError(f"{source} is not a Python package (no __init__.py)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            arcname = f"{source.name}/{path.relative_to(source).as_posix()}"
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    partial.replace(destination)
    return base64.b64encode(hashlib.sha256(destination.read_bytes()).digest()).decode()
