"""The Lambda zips, with deterministic bytes (fixed timestamps and order), so the same
source always gives the same hash and no diff:

- ``build_functions_zip``: ``functions/``, only our code (boto3 comes with the runtime);
- ``build_authorizer_zip``: ``authorizer/`` plus the pinned third-party wheels it needs
  (PyJWT and cryptography), for one runtime and architecture. A separate asset, so a
  handler change never redeploys the authorizer and the handlers never carry its
  libraries. Every wheel's SHA-256 must be one that ``authorizer/requirements.txt`` lists:
  ``make setup`` downloaded them with ``pip --require-hashes`` (ops/wheels.py), and the
  zip refuses anything that was changed or added since.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)
PROJECT_DIR = Path(__file__).resolve().parent.parent
AUTHORIZER_DIR = PROJECT_DIR / "authorizer"
AUTHORIZER_REQUIREMENTS = AUTHORIZER_DIR / "requirements.txt"
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class WheelTarget:
    """One Lambda runtime and architecture: the wheels that load there. manylinux2014
    (glibc 2.17) wheels load on every Python runtime's Amazon Linux (2: glibc 2.26, 2023: 2.34)."""

    runtime: str  # python3.12
    architecture: str  # arm64 | x86_64

    @property
    def name(self) -> str:
        return f"{self.runtime}-{self.architecture}"

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def platform(self) -> str:
        return "manylinux2014_aarch64" if self.architecture == "arm64" else "manylinux2014_x86_64"


# Every runtime and architecture an environment file may choose (modules/config/sections.py), so
# synth never needs the network whatever the file says.
WHEEL_TARGETS = tuple(
    WheelTarget(runtime, architecture)
    for runtime in ("python3.11", "python3.12", "python3.13")
    for architecture in ("arm64", "x86_64")
)


class WheelError(RuntimeError):
    """The wheels for a target are missing or not the ones the requirements file pins."""


def wheels_dir(project_dir: Path, target: WheelTarget) -> Path:
    return Path(project_dir) / "build" / "wheels" / target.name


def _zip_entry(archive: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _package_files(source: Path) -> list[tuple[str, bytes]]:
    if not (source / "__init__.py").exists():
        raise FileNotFoundError(f"{source} is not a Python package (no __init__.py)")
    files = sorted(path for path in source.rglob("*.py") if "__pycache__" not in path.parts)
    return [(f"{source.name}/{path.relative_to(source).as_posix()}", path.read_bytes()) for path in files]


def _write_zip(destination: Path, entries: list[tuple[str, bytes]]) -> str:
    """Write ``entries`` (in order) and return the base64 SHA-256 Lambda expects as ``source_code_hash``.

    The archive is built in memory and moved into place from a temporary file of its own, so
    processes building the same (deterministic) zip at once (make test's workers, a deploy
    beside a synth) never see each other's partial file."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            _zip_entry(archive, arcname, data)
    data = buffer.getvalue()
    with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=destination.name, delete=False) as partial:
        partial.write(data)
    Path(partial.name).replace(destination)
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def build_functions_zip(source: Path, destination: Path) -> str:
    """Zip ``source`` (a package directory) under its own name into ``destination`` and
    return the base64 SHA-256 Lambda expects as ``source_code_hash``."""
    return _write_zip(destination, _package_files(Path(source)))


def pinned_hashes(requirements: Path) -> frozenset[str]:
    """Every ``--hash=sha256:`` a requirements file lists."""
    return frozenset(_HASH.findall(Path(requirements).read_text()))


def wheel_entries(wheels: Path, allowed: frozenset[str]) -> list[tuple[str, bytes]]:
    """The installed layout of every wheel in ``wheels`` (a wheel's ``.data/purelib`` and
    ``platlib`` go to the root, as pip installs them), each wheel checked against ``allowed``."""
    found = sorted(Path(wheels).glob("*.whl"))
    if not found:
        raise WheelError(f"no wheels in {wheels}: run `make setup` (it downloads them once, then synth works offline)")
    entries: list[tuple[str, bytes]] = []
    for wheel in found:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest not in allowed:
            raise WheelError(f"{wheel.name}: SHA-256 {digest} is not pinned in {AUTHORIZER_REQUIREMENTS.name}")
        with zipfile.ZipFile(wheel) as archive:
            for name in sorted(archive.namelist()):
                if name.endswith("/") or "__pycache__" in name:
                    continue
                parts = name.split("/")
                if parts[0].endswith(".data"):
                    if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                        continue  # scripts and headers are not importable code
                    name = "/".join(parts[2:])
                entries.append((name, archive.read("/".join(parts))))
    return entries


def build_authorizer_zip(
    project_dir: Path, target: WheelTarget, destination: Path, requirements: Path = AUTHORIZER_REQUIREMENTS
) -> str:
    """``authorizer/`` and the target's pinned wheels in one zip; returns its base64 SHA-256."""
    project_dir = Path(project_dir)
    entries = wheel_entries(wheels_dir(project_dir, target), pinned_hashes(requirements))
    entries += _package_files(project_dir / "authorizer")
    names = [name for name, _ in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise WheelError(f"two wheels install the same file: {', '.join(duplicates[:5])}")
    return _write_zip(destination, sorted(entries))
