"""The authorizer's third-party code: pinned wheels, checked against recorded hashes,
downloaded once per Lambda runtime and architecture by ``make setup`` so that synth works
offline afterwards (modules/package.py zips them with the authorizer's own code).

    python -m ops.wheels download   # every target, from authorizer/requirements.txt (hashes required)
    python -m ops.wheels lock       # re-record the hashes after changing a pinned version

``download`` runs ``pip download --only-binary=:all: --no-deps --require-hashes`` for each
target's platform and Python version: pip refuses any file whose SHA-256 is not listed, and
never builds from source (a wheel for the build machine would not load on Lambda). ``lock``
downloads the pinned versions for every target and records the SHA-256 of every file pip
got, as ``pip-compile --generate-hashes`` does: what PyPI served when the pin was made is
what every later download must match.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from modules.package import AUTHORIZER_REQUIREMENTS, WHEEL_TARGETS, WheelTarget, wheels_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent


def pip_download(target: WheelTarget, destination: Path, requirements: list[str], hashes: bool) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        target.platform,
        "--python-version",
        target.python_version,
        "--implementation",
        "cp",
        "--abi",
        target.abi,
        "--dest",
        str(destination),
    ]
    command += ["--require-hashes", "-r", str(AUTHORIZER_REQUIREMENTS)] if hashes else requirements
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "is ignored" not in line]
        raise SystemExit(f"pip download for {target.name} failed:\n" + "\n".join(errors[-30:]))


def download(root: Path) -> None:
    for target in WHEEL_TARGETS:
        destination = wheels_dir(root, target)
        destination.mkdir(parents=True, exist_ok=True)
        pip_download(target, destination, [], hashes=True)
        print(f"{target.name}: {', '.join(sorted(path.name for path in destination.glob('*.whl')))}")


def pinned(requirements: Path) -> list[str]:
    """The ``name==version`` lines of a requirements file (continuations and hashes dropped)."""
    found = []
    for line in requirements.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "--")):
            found.append(line.split()[0].rstrip("\\"))
    return found


def lock(requirements: Path) -> str:
    """The requirements file's pins with the hash of every wheel of every target."""
    by_name: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for target in WHEEL_TARGETS:
            destination = Path(scratch) / target.name
            pip_download(target, destination, pinned(requirements), hashes=False)
            for wheel in destination.glob("*.whl"):
                name = wheel.name.split("-")[0].lower().replace("_", "-")
                by_name.setdefault(name, set()).add(hashlib.sha256(wheel.read_bytes()).hexdigest())
    header = [line for line in requirements.read_text().splitlines() if line.startswith("#")]
    lines = list(header)
    for requirement in pinned(requirements):
        name = requirement.split("==")[0].lower().replace("_", "-")
        digests = sorted(by_name.get(name, ()))
        if not digests:
            raise SystemExit(f"no wheel was downloaded for {requirement}")
        lines.append(f"{requirement} \\")
        lines += [
            f"    --hash=sha256:{digest}" + (" \\" if index < len(digests) - 1 else "")
            for index, digest in enumerate(digests)
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The authorizer's pinned, hash-checked wheels.")
    parser.add_argument("action", choices=("download", "lock"))
    args = parser.parse_args(argv)
    if args.action == "download":
        download(PROJECT_DIR)
    else:
        AUTHORIZER_REQUIREMENTS.write_text(lock(AUTHORIZER_REQUIREMENTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
