"""Loading environment files: ``load_environment`` turns a file into a frozen
``EnvironmentConfig`` or raises ``ConfigError`` naming the file, the field, the value
received and what was expected, for every problem at once; ``load_environments`` loads a
folder and then checks the rules across environments.

An environment file (``environments/<env>.toml``) is data only. Its keys are declared in
``modules/config/sections.py``; the rules that involve several keys are in
``modules/config/rules.py``, those across files in ``modules/config/across.py``. Nothing
here imports cdktf or the provider binding, so a bad file is reported in well under a
second, before anything is synthesized or written.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modules.config.across import check_across
from modules.config.rules import EXPLICIT
from modules.config.schema import ConfigError, Reader, Section
from modules.config.sections import FIELDS, NAME, TOP_LEVEL_NAMES, EnvironmentConfig

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def load_environment(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; the environment name is the file's stem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from None
    return parse_environment(raw, environment=path.stem, source=str(path))


def load_environments(directory: Path, names: list[str] | None = None) -> list[EnvironmentConfig]:
    """Load every ``*.toml`` in ``directory`` (sorted), or only ``names`` when given.
    All files are validated before any is returned, and every error is reported at once.
    The rules across environments (one zone per account, one owner of API Gateway's account
    settings, reservations that share a quota) also read the files that were not chosen:
    choosing one environment must not hide its conflict with another. A file that is not
    chosen and does not load is left out of them (its own errors show when it is chosen)."""
    directory = Path(directory)
    available = {path.stem: path for path in sorted(directory.glob("*.toml"))}
    chosen = _chosen_files(directory, available, names)
    configs: dict[str, EnvironmentConfig] = {}
    errors: list[str] = []
    for path in chosen:
        try:
            configs[str(path)] = load_environment(path)
        except ConfigError as err:
            errors.append(str(err))
    if errors:
        raise ConfigError("\n".join(errors))
    everything = {**_loadable(path for path in available.values() if path not in chosen), **configs}
    errors = check_across(everything, chosen=set(configs))
    if errors:
        raise ConfigError("\n".join(errors))
    return list(configs.values())


def _chosen_files(directory: Path, available: Mapping[str, Path], names: list[str] | None) -> list[Path]:
    if names:
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ConfigError(
                f"environment {', '.join(repr(name) for name in unknown)} not found in {directory}/ "
                f"(expected one of: {', '.join(sorted(available)) or 'none'})"
            )
        chosen = [available[name] for name in dict.fromkeys(names)]
    else:
        chosen = list(available.values())
    if not chosen:
        raise ConfigError(f"{directory}/: no environment files (expected <env>.toml)")
    return chosen


def _loadable(paths: Iterable[Path]) -> dict[str, EnvironmentConfig]:
    """The files among ``paths`` that load, by path."""
    loaded = {}
    for path in paths:
        try:
            loaded[str(path)] = load_environment(path)
        except ConfigError:
            continue
    return loaded


def parse_environment(raw: Mapping[str, Any], *, environment: str, source: str = "<config>") -> EnvironmentConfig:
    """Validate a parsed TOML document. Raises ConfigError listing every problem found."""
    reader = Reader(source, environment)
    reader.check("environment (file name)", environment, NAME)
    top = reader.table(raw, "", TOP_LEVEL_NAMES)
    values: dict[str, Any] = {}
    for field_name, item in FIELDS:
        if field_name in EXPLICIT:
            values[field_name] = EXPLICIT[field_name](reader, top, values)
        elif isinstance(item, Section):
            values[field_name] = item.config_class(**reader.read_section(top, item))
        else:
            values[field_name] = reader.read(top, item)
    reader.raise_if_errors()
    return EnvironmentConfig(environment=environment, **values)
