"""Fast import of the CDKTF AWS provider binding: an optimisation ``modules/provider/aws.py`` turns
on by calling ``install()`` once, and nothing else depends on.

``import cdktf_cdktf_provider_aws`` runs a package ``__init__`` that imports all ~2,100
generated submodules (~20 s, ~1.1 GiB with the node jsii process). For the pinned, frozen
binding (``modules/provider/binding.py``) ``install()`` instead:

1. installs a package module for ``cdktf_cdktf_provider_aws`` in ``sys.modules`` built
   from the package's own import spec (same ``__spec__``, ``__file__``, ``__path__``
   incl. ``pkgutil.extend_path``, ``__doc__``, ``__all__``) *without* executing its
   ``__init__.py``; a PEP 562 ``__getattr__`` imports any other submodule on first
   attribute access, so ``cdktf_cdktf_provider_aws.<sub>`` still works for every name;
2. registers every submodule's jsii namespace (``@cdktf/provider-aws.dynamodbTable`` ->
   ``cdktf_cdktf_provider_aws.dynamodb_table``) in the jsii runtime's lazy-resolution
   map, so an object of a type from a not-yet-imported submodule coming back from the
   kernel imports that submodule on demand instead of failing with "Unknown type"
   (with the full import every type is registered up front);
3. lets the submodules import the real ``_jsii`` package themselves (each does
   ``from .._jsii import *``), exactly as the full import does;
4. but first loads, into the jsii kernel, a copy of the assembly tarball whose JavaScript
   ``lib/index.js`` requires each of the 2,135 resource modules on first use instead of
   all of them up front (the node-side twin of the Python ``__init__``: ~2.2 s). The
   copy is built once into ``build/jsii/`` (keyed by the original's sha256) and differs
   from the original in that one file only; the real ``_jsii`` then finds the assembly
   already loaded. If the copy cannot be built, the original tarball is used.

Everything else in the real ``__init__`` is either a per-module helper the submodules
define themselves (``check_type``), an import, or ``publication.publish()``, whose only
effect is hiding non-``__all__`` names.

The fast path is used only when the installed versions and file layout are exactly the
ones this was written against (see ``fast_path_problem``); otherwise, or when the real
package is already imported, the normal import is used and one warning says why.
``CDKTF_AWS_FULL_IMPORT=1`` forces the normal import silently. To remove the fast path,
see docs/cdktf.md ("Fast synth").
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from modules.provider import binding

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

# --- pinned: the release the fast path replicates -------------------------------------
# Hashes and sizes of the binding.VERSION release's files; any difference -> fallback.
PINNED_VERSIONS = {binding.DISTRIBUTION: binding.VERSION, "cdktf": binding.CDKTF_VERSION}
JSII_ASSEMBLY = "@cdktf/provider-aws"
JSII_TARBALL = f"provider-aws@{binding.VERSION}.jsii.tgz"
JSII_TARBALL_SIZE = 34149973
JSII_TARBALL_SHA256 = "9597df60b28214851f296d31821d8f8d73edc0e541ba2ef627b545b0dfbed1bf"
PACKAGE_INIT_SHA256 = "b572adc0d5678ee04026e6947059edbfd0011fa7e5da99ab61428e0c401d7414"
JSII_INIT_SHA256 = "18ae637341d4326aa0d2d67f2a17b3b4f7d7b0fa0e41844dcd586230b9614970"
# lib/index.js of the release requires 2,135 resource modules; far fewer means another layout.
MIN_RESOURCE_REQUIRES = 2000

FULL_IMPORT_ENV = "CDKTF_AWS_FULL_IMPORT"
FAST_PATH_MARKER = "__cdktf_aws_fast_path__"
LAZY_TARBALL_DIR = Path(__file__).resolve().parent.parent.parent / "build" / "jsii"
PACKAGE = binding.PACKAGE
RELEASE = f"the {binding.VERSION} release"

_SUBMODULE_IMPORT = re.compile(r"^from \. import ([A-Za-z_][A-Za-z0-9_]*)$", re.MULTILINE)
_ALL_BLOCK = re.compile(r"^__all__ = \[\n(.*?)^\]$", re.MULTILINE | re.DOTALL)
_QUOTED_NAME = re.compile(r'^    "([A-Za-z_][A-Za-z0-9_]*)",$', re.MULTILINE)
_LAZY_INDEX_LINE = re.compile(r'^exports\.([A-Za-z_$][A-Za-z0-9_$]*) = require\("(\./[a-z0-9-]+)"\);$', re.MULTILINE)


class FastPathFallbackWarning(UserWarning):
    """The fast import path for the AWS binding was not used; the normal import is."""


class _FastPathUnavailable(Exception):
    pass


def install(submodules: Iterable[str]) -> str:
    """Install the fast path for a stack that uses ``submodules``, once per process.
    Returns 'fast', or 'full' when the normal import must be used (warning once why)."""
    if _env_forces_full_import():
        return "full"
    existing = sys.modules.get(PACKAGE)
    if existing is not None:
        if getattr(existing, FAST_PATH_MARKER, False):
            return "fast"  # installed earlier in this process (e.g. modules.provider.aws reloaded)
        _warn_fallback(f"{PACKAGE} was already imported normally in this process")
        return "full"
    try:
        problem, package_dir = fast_path_problem(submodules)
        if problem is None and package_dir is not None:
            _install_fast_package()
            _preload_lazy_assembly(package_dir)
            return "fast"
    except Exception as exc:  # never let the optimisation break the import
        problem = f"unexpected error while preparing it: {exc!r}"
        if getattr(sys.modules.get(PACKAGE), FAST_PATH_MARKER, False):
            del sys.modules[PACKAGE]
    _warn_fallback(problem or f"cannot locate package {PACKAGE}")
    return "full"


# --- can the fast path be used? ----------------------------------------------------------


def fast_path_problem(submodules: Iterable[str]) -> tuple[str | None, Path | None]:
    """(reason the fast path can't be used or None, package directory)."""
    problem = _check_versions()
    if problem:
        return problem, None
    spec = importlib.util.find_spec(PACKAGE)  # locates, does not execute, the package
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return f"cannot locate package {PACKAGE}", None
    package_dir = Path(spec.origin).parent
    problem = check_layout(package_dir, submodules) or _check_jsii_runtime()
    return problem, package_dir


def _check_versions() -> str | None:
    """Reason the installed distributions are not the pinned ones, or None."""
    from importlib import metadata

    for distribution, expected in PINNED_VERSIONS.items():
        try:
            found = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return f"distribution {distribution!r} is not installed (fast path expects {expected})"
        if found != expected:
            return f"{distribution} is {found}, the fast path was written for {expected}"
    return None


def check_layout(package_dir: Path, submodules: Iterable[str]) -> str | None:
    """Reason ``package_dir`` is not laid out as the fast path expects, or None.
    ``submodules`` are the names that must exist (the stack's allow-list)."""
    init = package_dir / "__init__.py"
    jsii_init = package_dir / "_jsii" / "__init__.py"
    tarball = package_dir / "_jsii" / JSII_TARBALL
    problem = (
        _file_problem(init, PACKAGE_INIT_SHA256, f"differs from {RELEASE} the fast path replicates")
        or _file_problem(jsii_init, JSII_INIT_SHA256, f"differs from {RELEASE}")
        or _tarball_problem(tarball)
    )
    if problem:
        return problem
    _, known, public = parse_init(init.read_text(encoding="utf-8"))
    known_names = set(known)
    if not known_names or set(public) != known_names:
        return f"{init}: __all__ does not list exactly the imported submodules"
    for name in submodules:
        if name not in known_names:
            return f"{name!r} is not a submodule of {PACKAGE}"
        if not (package_dir / name / "__init__.py").is_file():
            return f"submodule directory {package_dir / name} is missing"
    return None


def _file_problem(path: Path, sha256: str, differs: str) -> str | None:
    if not path.is_file():
        return f"{path} is missing"
    if _sha256(path) != sha256:
        return f"{path} {differs}"
    return None


def _tarball_problem(tarball: Path) -> str | None:
    if not tarball.is_file():
        return f"jsii assembly {tarball} is missing"
    if tarball.stat().st_size != JSII_TARBALL_SIZE:
        return f"jsii assembly {tarball} has an unexpected size"
    return None


def _check_jsii_runtime() -> str | None:
    try:
        from jsii import _reference_map
    except Exception as exc:  # pragma: no cover - jsii is a hard dependency
        return f"cannot import jsii runtime: {exc!r}"
    if not isinstance(getattr(_reference_map, "_submodule_fqn_map", None), dict) or not hasattr(
        _reference_map, "_try_import_type_module"
    ):
        return "the installed jsii runtime has no lazy submodule resolution (jsii>=1.142 needed)"
    return None


def parse_init(text: str) -> tuple[str | None, list[str], list[str]]:
    """(docstring, submodules imported by ``from . import x``, ``__all__``) of the real __init__."""
    docstring = None
    if text.startswith("r'''"):
        end = text.find("'''", 4)
        if end != -1:
            docstring = text[4:end]
    match = _ALL_BLOCK.search(text)
    public = _QUOTED_NAME.findall(match.group(1)) if match else []
    return docstring, _SUBMODULE_IMPORT.findall(text), public


def jsii_namespace(submodule: str) -> str:
    """Python submodule name -> jsii submodule FQN (dynamodb_table -> dynamodbTable).

    jsii-pacmak derives the Python name by snake-casing the jsii name; for this binding
    the inverse is exact for all 2,135 submodules (checked by the tests).
    """
    head, *rest = submodule.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- the Python side: a package module that imports submodules on demand ----------------


def _install_fast_package() -> ModuleType:
    """Put an un-executed ``cdktf_cdktf_provider_aws`` package module in sys.modules."""
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.origin is not None
    docstring, submodules, public = parse_init(Path(spec.origin).read_text(encoding="utf-8"))
    package = importlib.util.module_from_spec(spec)  # sets __spec__/__file__/__path__/...
    package.__path__ = pkgutil.extend_path(package.__path__, PACKAGE)  # as the real __init__
    package.__doc__ = docstring
    package.__dict__["__all__"] = public  # what publication.publish() leaves public (the submodules)
    setattr(package, FAST_PATH_MARKER, True)
    known = frozenset(submodules)

    def __getattr__(name: str) -> ModuleType:
        # The full import makes every submodule an attribute; import on first access.
        if name in known:
            return importlib.import_module(f"{PACKAGE}.{name}")
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")

    package.__dict__["__getattr__"] = __getattr__  # PEP 562: the module's attribute hook

    from jsii import _reference_map

    _reference_map._submodule_fqn_map.update(
        {f"{JSII_ASSEMBLY}.{jsii_namespace(name)}": f"{PACKAGE}.{name}" for name in submodules}
    )
    sys.modules[PACKAGE] = package
    return package


# --- the node side: an assembly whose lib/index.js requires modules on first use ---------


def lazy_index_js(text: str) -> str:
    """``exports.x = require("./x");`` for every resource module becomes a getter that
    requires the module on first access and then caches it as a plain property."""
    replaced, count = _LAZY_INDEX_LINE.subn(
        lambda match: (
            f'Object.defineProperty(exports, "{match[1]}", {{ enumerable: true, configurable: true, '
            f'get: function () {{ var mod = require("{match[2]}"); Object.defineProperty(exports, "{match[1]}", '
            f"{{ enumerable: true, configurable: true, writable: true, value: mod }}); return mod; }} }});"
        ),
        text,
    )
    if count < MIN_RESOURCE_REQUIRES:
        raise _FastPathUnavailable(
            f"lib/index.js has {count} resource requires, expected the 2,135 of {binding.VERSION}"
        )
    return replaced


def lazy_tarball(original: Path, directory: Path = LAZY_TARBALL_DIR) -> Path:
    """The assembly tarball with a lazy ``package/lib/index.js``, built once (atomic, one
    builder at a time: make test's workers all synthesize at start).

    Its bytes are the same in every clone (gzip header without a time or a file name): the
    jsii runtime caches each tarball's ~400 MB extraction under its content hash in
    ~/.cache/aws/jsii, so a copy stamped with the time it was built cost every fresh clone
    another extraction and another 400 MB there."""
    target = directory / f"{JSII_TARBALL.removesuffix('.jsii.tgz')}-lazy-{JSII_TARBALL_SHA256[:16]}.jsii.tgz"
    if target.is_file():
        return target
    if _sha256(original) != JSII_TARBALL_SHA256:
        raise _FastPathUnavailable(f"{original} is not {RELEASE} tarball")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():  # another process may have built it while this one waited
            _write_lazy_copy(original, target)
    return target


def _write_lazy_copy(original: Path, target: Path) -> None:
    import gzip
    import tarfile

    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with (
            tarfile.open(original, "r:gz") as source,
            partial.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w") as copy,
        ):
            patched = False
            for member in source:
                data = source.extractfile(member) if member.isfile() else None
                if member.name == "package/lib/index.js" and data is not None:
                    body = lazy_index_js(data.read().decode("utf-8")).encode("utf-8")
                    member.size = len(body)
                    data, patched = io.BytesIO(body), True
                copy.addfile(member, data)
            if not patched:
                raise _FastPathUnavailable("package/lib/index.js not found in the assembly tarball")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _preload_lazy_assembly(package_dir: Path) -> None:
    """Load the lazy copy of the assembly before the real ``_jsii`` asks for the original
    (the kernel keeps the first load of a name and version). Best effort."""
    try:
        tarball = lazy_tarball(package_dir / "_jsii" / JSII_TARBALL)
        import cdktf._jsii  # noqa: F401  - dependencies load first, as in the real _jsii
        import constructs._jsii  # noqa: F401
        from jsii._runtime import kernel

        kernel.load(JSII_ASSEMBLY, binding.VERSION, str(tarball))
    except Exception as exc:  # the original tarball still works, only slower
        warnings.warn(
            f"{__name__}: lazy jsii assembly not used ({exc!r}); loading the original",
            FastPathFallbackWarning,
            stacklevel=3,
        )


# --- helpers -----------------------------------------------------------------------------

_warned = False


def _warn_fallback(reason: str) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"{__name__}: fast import path for {PACKAGE} not used ({reason}); using the normal "
        f"import (~20 s, ~1.1 GiB). Set {FULL_IMPORT_ENV}=1 to choose the normal import "
        f"explicitly.",
        FastPathFallbackWarning,
        stacklevel=3,
    )


def _env_forces_full_import() -> bool:
    return os.environ.get(FULL_IMPORT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
