"""The fast import path for the AWS provider binding (modules/provider/fast_path.py,
installed by modules/provider/aws.py).

Anything that starts the jsii kernel runs in a subprocess, one at a time, so the
state of this pytest process (and the machine's 2 cores / memory) is not at stake.
The tests that import the whole binding (~20 s, ~1.1 GiB) are marked ``slow``.
"""

from __future__ import annotations

import ast
import filecmp
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.synth import inputs_digest
from modules.provider import aws, fast_path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WARNING_TEXT = "fast import path for cdktf_cdktf_provider_aws not used"


def _env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {fast_path.FULL_IMPORT_ENV, "CDKTF_OUTDIR", "BACKEND_ENVIRONMENTS"}
    }
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"  # Node 20 banner is noise
    env["PYTHONPATH"] = str(PROJECT_DIR)
    env.update(overrides)
    return env


def _run(code: str, env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code), *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"subprocess failed:\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _real_package_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(fast_path.PACKAGE)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


# --- layout / version checks (no jsii kernel) ------------------------------------------


def test_installed_binding_qualifies_for_the_fast_path():
    problem, package_dir = fast_path.fast_path_problem(aws.SUBMODULES)
    assert problem is None
    assert package_dir == _real_package_dir()


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    """A copy of the binding's layout the fast path relies on (without the 448 MB)."""
    real = _real_package_dir()
    pkg = tmp_path / fast_path.PACKAGE
    (pkg / "_jsii").mkdir(parents=True)
    shutil.copyfile(real / "__init__.py", pkg / "__init__.py")
    shutil.copyfile(real / "_jsii" / "__init__.py", pkg / "_jsii" / "__init__.py")
    with (pkg / "_jsii" / fast_path.JSII_TARBALL).open("wb") as tarball:
        tarball.truncate(fast_path.JSII_TARBALL_SIZE)  # sparse: right name and size
    for name in aws.SUBMODULES:
        (pkg / name).mkdir()
        (pkg / name / "__init__.py").write_text("")
    return pkg


def test_layout_check_accepts_a_faithful_copy(fake_package: Path):
    assert fast_path.check_layout(fake_package, aws.SUBMODULES) is None


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (lambda p: _remove(p / "_jsii" / "__init__.py"), "_jsii/__init__.py is missing"),
        (lambda p: (p / "_jsii" / "__init__.py").write_text("# other release\n"), "differs from the 20.1.0 release"),
        (
            lambda p: (p / "_jsii" / fast_path.JSII_TARBALL).rename(p / "_jsii" / "provider-aws@20.2.0.jsii.tgz"),
            "jsii assembly",
        ),
        (lambda p: os.truncate(p / "_jsii" / fast_path.JSII_TARBALL, 10), "unexpected size"),
        (lambda p: _remove(p / "dynamodb_table"), "submodule directory"),
        (lambda p: _remove(p / "__init__.py"), "__init__.py is missing"),
        (
            lambda p: (p / "__init__.py").write_text((p / "__init__.py").read_text() + "\nEXTRA = 1\n"),
            "differs from the 20.1.0 release",
        ),
    ],
    ids=[
        "jsii-init-missing",
        "jsii-init-changed",
        "tarball-renamed",
        "tarball-size",
        "submodule-missing",
        "init-missing",
        "init-changed",
    ],
)
def test_layout_check_rejects_unexpected_layouts(fake_package: Path, breakage, expected: str):
    breakage(fake_package)
    problem = fast_path.check_layout(fake_package, aws.SUBMODULES)
    assert problem is not None and expected in problem


def test_layout_check_rejects_unknown_submodule_names(fake_package: Path):
    problem = fast_path.check_layout(fake_package, (*aws.SUBMODULES, "no_such_resource"))
    assert problem is not None and "'no_such_resource' is not a submodule" in problem


def test_submodule_list_matches_the_real_init():
    """The fast package's __all__ is parsed from the real __init__; it must equal its __all__."""
    text = (_real_package_dir() / "__init__.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    real_all = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
    )
    imported = [
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is None and node.level == 1
        for alias in node.names
    ]
    doc, parsed_imports, parsed_all = fast_path.parse_init(text)
    assert parsed_all == real_all
    assert parsed_imports == imported
    assert set(imported) == set(real_all)
    assert doc == ast.get_docstring(tree, clean=False)
    assert set(aws.SUBMODULES) <= set(imported)


def test_jsii_namespace_convention_holds_for_every_submodule():
    """Lazy type resolution maps jsii namespaces to Python submodules by camelCasing."""
    real = _real_package_dir()
    _, submodules, _ = fast_path.parse_init((real / "__init__.py").read_text(encoding="utf-8"))
    marker = b'jsii_type="' + fast_path.JSII_ASSEMBLY.encode() + b"."
    wrong = []
    for name in submodules:
        with (real / name / "__init__.py").open("rb") as handle:
            data = b""
            while marker not in data:
                chunk = handle.read(1 << 16)
                assert chunk, f"{name}: no jsii_type found"
                data += chunk
        start = data.index(marker) + len(marker)
        namespace = data[start : data.index(b'"', start)].rsplit(b".", 1)[0].decode()
        if namespace != fast_path.jsii_namespace(name):
            wrong.append((name, namespace, fast_path.jsii_namespace(name)))
    assert len(submodules) > 2000
    assert wrong == []


# --- fallback to the normal import (subprocesses; a tiny fake package keeps them cheap) -


FALLBACK_PROBE = """
    import json, sys, warnings
    warnings.simplefilter("always")          # our own once-per-process guard must hold
    {pre}
    from modules.provider import aws, fast_path
    table = aws.dynamodb_table               # two submodules: still one warning
    provider = aws.provider
    import cdktf_cdktf_provider_aws as package
    print(json.dumps({{
        "mode": aws.MODE,
        "full_init_ran": getattr(package, "FULL_INIT_RAN", False),
        "table_is_fake": getattr(table, "FAKE", False),
        "fast_marker": getattr(package, fast_path.FAST_PATH_MARKER, False),
    }}))
"""


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    """A directory, first on sys.path, holding a different 'cdktf_cdktf_provider_aws'.

    Its __init__ is not the 20.1.0 one, so the layout check must refuse it; importing it
    normally records FULL_INIT_RAN, which proves the normal import was used.
    """
    site = tmp_path / "site"
    pkg = site / fast_path.PACKAGE
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("FULL_INIT_RAN = True\nfrom . import dynamodb_table, provider\n")
    for name in ("dynamodb_table", "provider"):
        (pkg / name).mkdir()
        (pkg / name / "__init__.py").write_text("FAKE = True\n")
    return site


def _fake_env(site: Path, **overrides: str) -> dict[str, str]:
    return _env(PYTHONPATH=os.pathsep.join([str(site), str(PROJECT_DIR)]), **overrides)


def test_fallback_on_wrong_binding_version(fake_site: Path):
    dist = fake_site / "cdktf_cdktf_provider_aws-20.2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cdktf-cdktf-provider-aws\nVersion: 20.2.0\n")
    proc = _run(FALLBACK_PROBE.format(pre=""), _fake_env(fake_site))
    result = _last_json(proc.stdout)
    assert result == {"mode": "full", "full_init_ran": True, "table_is_fake": True, "fast_marker": False}
    assert proc.stderr.count(WARNING_TEXT) == 1, proc.stderr
    assert "cdktf-cdktf-provider-aws is 20.2.0, the fast path was written for 20.1.0" in proc.stderr
    assert "FastPathFallbackWarning" in proc.stderr


def test_fallback_on_unexpected_layout(fake_site: Path):
    proc = _run(FALLBACK_PROBE.format(pre=""), _fake_env(fake_site))
    result = _last_json(proc.stdout)
    assert result == {"mode": "full", "full_init_ran": True, "table_is_fake": True, "fast_marker": False}
    assert proc.stderr.count(WARNING_TEXT) == 1, proc.stderr
    assert "differs from the 20.1.0 release the fast path replicates" in proc.stderr


def test_already_imported_package_is_used_as_is(fake_site: Path):
    proc = _run(FALLBACK_PROBE.format(pre="import cdktf_cdktf_provider_aws"), _fake_env(fake_site))
    result = _last_json(proc.stdout)
    assert result == {"mode": "full", "full_init_ran": True, "table_is_fake": True, "fast_marker": False}
    assert proc.stderr.count(WARNING_TEXT) == 1, proc.stderr
    assert "was already imported normally in this process" in proc.stderr


def test_env_var_forces_the_normal_import_silently(fake_site: Path):
    proc = _run(FALLBACK_PROBE.format(pre=""), _fake_env(fake_site, **{fast_path.FULL_IMPORT_ENV: "1"}))
    result = _last_json(proc.stdout)
    assert result == {"mode": "full", "full_init_ran": True, "table_is_fake": True, "fast_marker": False}
    assert WARNING_TEXT not in proc.stderr


# --- the fast path is really taken (starts the jsii kernel: ~4 s) ---------------------


def _loaded_submodules_probe(then: str) -> str:
    return textwrap.dedent("""
        import json, sys
        from modules.provider import aws, fast_path
        table_class = aws.dynamodb_table.DynamodbTable
        loaded = sorted({
            name.split(".")[1] for name in sys.modules
            if name.startswith(fast_path.PACKAGE + ".") and name.split(".")[1] != "_private"
        })
        result = {"mode": aws.MODE, "loaded": loaded, "table_class": table_class.__qualname__}
    """) + textwrap.dedent(then)


def test_fast_path_loads_only_the_requested_submodules(tmp_path: Path):
    code = _loaded_submodules_probe("""
        import cdktf, cdktf_cdktf_provider_aws as package
        from jsii._kernel.types import CreateRequest
        from jsii._runtime import kernel

        # The package module looks like the real (published) one.
        result["fast_marker"] = getattr(package, fast_path.FAST_PATH_MARKER, False)
        result["file"] = package.__file__
        result["path"] = list(package.__path__)
        result["doc"] = bool(package.__doc__ and "hashicorp/aws" in package.__doc__)
        result["all_len"] = len(package.__all__)

        # Objects of types from submodules Python has not imported resolve as with the
        # full import: create an S3Bucket on the JS side only, then look it up.
        app = cdktf.App(outdir=sys.argv[1])  # never synthesized; App creates the dir
        stack = cdktf.TerraformStack(app, "probe")
        aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
        before = "cdktf_cdktf_provider_aws.s3_bucket" in sys.modules
        kernel.provider.create(CreateRequest(fqn="@cdktf/provider-aws.s3Bucket.S3Bucket", args=[stack, "bucket", {}]))
        found = stack.node.find_child("bucket")
        result["lazy_resolution"] = [before, type(found).__module__ + "." + type(found).__qualname__]

        # Attribute access on the package imports any submodule on demand, like the full import.
        result["attr_access"] = package.sns_topic.SnsTopic.__module__
        result["loaded_after"] = sorted({
            name.split(".")[1] for name in sys.modules
            if name.startswith(fast_path.PACKAGE + ".") and name.split(".")[1] != "_private"
        })
        print(json.dumps(result))
    """)
    proc = _run(code, _env(), str(tmp_path / "out"))
    assert WARNING_TEXT not in proc.stderr, proc.stderr
    result = _last_json(proc.stdout)
    real = _real_package_dir()
    assert result["mode"] == "fast"
    assert result["fast_marker"] is True
    assert result["loaded"] == ["_jsii", "dynamodb_table"]
    assert result["loaded_after"] == ["_jsii", "dynamodb_table", "provider", "s3_bucket", "sns_topic"]
    assert result["table_class"] == "DynamodbTable"
    assert result["file"] == str(real / "__init__.py")
    assert result["path"][0] == str(real)
    assert result["doc"] is True
    assert result["all_len"] > 2000
    assert result["lazy_resolution"] == [False, "cdktf_cdktf_provider_aws.s3_bucket.S3Bucket"]
    assert result["attr_access"] == "cdktf_cdktf_provider_aws.sns_topic"


# --- output identical to the normal import --------------------------------------------


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


# main.py run as a script, then what the process imported, on stderr (the binding's full import
# costs ~20 s of CPU: the synth with the full import is also the check that it loads everything).
SYNTH_THEN_REPORT = """
import json, runpy, sys
sys.argv = [sys.argv[1]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as done:
    assert not done.code, done.code
from modules.provider import aws, fast_path
loaded = {name.split(".")[1] for name in sys.modules if name.startswith(fast_path.PACKAGE + ".")}
print(json.dumps({"mode": aws.MODE, "loaded": len(loaded)}), file=sys.stderr)
"""


@pytest.mark.slow
def test_synth_output_identical_to_normal_import(tmp_path: Path):
    """Synthesize every environment with the fast path and with the full import (which loads
    every submodule: FULL_IMPORT_ENV is honoured).

    cdktf's App uses CDKTF_OUTDIR when main.py passes no outdir. The whole outdir is
    compared byte for byte: stacks/ (cdk.tf.json and asset zips) and manifest.json, whose
    paths are relative to the outdir, so nothing needs excluding.
    """
    main = PROJECT_DIR / "main.py"
    outdirs = {"fast": tmp_path / "fast", "full": tmp_path / "full"}
    inputs_before = inputs_digest()
    imported = {}
    for mode, outdir in outdirs.items():  # sequential: one heavy process at a time
        env = _env(CDKTF_OUTDIR=str(outdir))
        if mode == "full":
            env[fast_path.FULL_IMPORT_ENV] = "1"
        proc = subprocess.run(
            [PYTHON, "-c", SYNTH_THEN_REPORT, str(main)],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{mode} synth failed:\n{proc.stdout}\n{proc.stderr}"
        assert WARNING_TEXT not in proc.stderr, proc.stderr
        imported[mode] = json.loads(proc.stderr.strip().splitlines()[-1])
    assert imported["fast"]["mode"] == "fast" and imported["fast"]["loaded"] < 100, imported
    assert imported["full"]["mode"] == "full" and imported["full"]["loaded"] > 2000, imported

    fast, full = _files(outdirs["fast"]), _files(outdirs["full"])
    assert any(name.startswith("stacks/") and name.endswith("cdk.tf.json") for name in fast), sorted(fast)
    environments = sorted(p.stem for p in (PROJECT_DIR / "environments").glob("*.toml"))
    stacks = {name.split("/")[1] for name in fast if name.startswith("stacks/")}
    assert len(stacks) == len(environments), (stacks, environments)
    different = sorted(set(fast) ^ set(full)) + [
        name for name in fast if name in full and not filecmp.cmp(fast[name], full[name], shallow=False)
    ]
    if different and inputs_digest() != inputs_before:
        pytest.fail(
            f"inputs (main.py/modules/functions/environments) changed between the two synths; rerun. {different}"
        )
    assert different == []


# --- node side: the lazy lib/index.js -------------------------------------------------


def test_lazy_index_requires_a_module_only_when_it_is_used(tmp_path: Path):
    lines = ['"use strict";', 'Object.defineProperty(exports, "__esModule", { value: true });']
    names = [f"mod{i}" for i in range(2001)]
    for name in names:
        (tmp_path / f"{name}.js").write_text("globalThis.loaded = (globalThis.loaded || 0) + 1; exports.ok = 1;\n")
        lines.append(f'exports.{name} = require("./{name}");')
    (tmp_path / "index.js").write_text(fast_path.lazy_index_js("\n".join(lines) + "\n"))
    script = (
        "const idx = require('./index.js');"
        "const before = globalThis.loaded || 0;"
        "const ok = idx.mod7.ok + idx.mod7.ok;"
        "console.log(JSON.stringify({before, after: globalThis.loaded, ok, keys: Object.keys(idx).length}));"
    )
    result = subprocess.run(
        ["node", "-e", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == {"before": 0, "after": 1, "ok": 2, "keys": 2001}


def test_lazy_index_refuses_an_unexpected_index():
    with pytest.raises(fast_path._FastPathUnavailable, match="resource requires"):
        fast_path.lazy_index_js('exports.a = require("./a");\n')


def test_lazy_tarball_refuses_anything_but_the_release_tarball(tmp_path: Path):
    fake = tmp_path / "provider-aws@20.1.0.jsii.tgz"
    fake.write_bytes(b"not the release")
    with pytest.raises(fast_path._FastPathUnavailable, match="not the 20.1.0 release tarball"):
        fast_path.lazy_tarball(fake, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_lazy_tarball_bytes_are_the_same_in_every_build(tmp_path: Path):
    """The jsii runtime keys its ~400 MB extraction by the tarball's content: a copy stamped
    with its build time cost every fresh clone another extraction and 400 MB of disk. (Each
    build takes ~2 s, so the two are in different seconds.)"""
    original = _real_package_dir() / "_jsii" / fast_path.JSII_TARBALL
    first = fast_path.lazy_tarball(original, tmp_path / "a")
    second = fast_path.lazy_tarball(original, tmp_path / "b")
    assert first.name == second.name
    assert filecmp.cmp(first, second, shallow=False)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [f".{second.name}.lock", second.name]
