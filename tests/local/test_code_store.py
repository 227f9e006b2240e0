"""The gateway's code store (local/execution_environment.CodeStore): the deployed zip found
among the stack's assets by its CodeSha256 and extracted once. Each region's gateway is a
process of its own with its own store, all extracting into one deployment's cache folder."""

from __future__ import annotations

import threading
import zipfile
from typing import TYPE_CHECKING

import pytest

from local.execution_environment import CodeMismatch, CodeStore, lambda_sha256

if TYPE_CHECKING:
    from pathlib import Path

FILES = [f"functions/module_{number:03}.py" for number in range(200)] + ["functions/__init__.py"]


def stack_with_asset(root: Path) -> tuple[Path, str]:
    archive = root / "stack" / "assets" / "functions" / "code.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in sorted(FILES):
            zipped.writestr(name, f"# {name}\n" * 50)
    return root / "stack", lambda_sha256(archive)


def extract_at_once(stores: list[CodeStore], sha: str) -> list[Path]:
    """Every store's task root for ``sha``, all asked at the same moment, each on a thread."""
    start, roots, errors = threading.Barrier(len(stores)), [], []

    def extract(store: CodeStore) -> None:
        start.wait()
        try:
            roots.append(store.task_root(sha))
        except Exception as err:  # the test fails on it
            errors.append(err)

    threads = [threading.Thread(target=extract, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return roots


def test_stores_extracting_the_same_code_at_once_each_get_every_file(tmp_path):
    """Stores of their own (as the regions' gateways have) racing on one cache folder, in
    rounds: before each extracted into a folder of its own, one's cleanup removed files
    another was writing and a task root lacked its first files."""
    stack_dir, sha = stack_with_asset(tmp_path)
    for round_number in range(5):
        cache = tmp_path / f"code-{round_number}"
        roots = extract_at_once([CodeStore(stack_dir, cache) for _ in range(4)], sha)
        assert len(roots) == 4 and len(set(roots)) == 1
        (root,) = set(roots)
        assert sorted(str(path.relative_to(root)) for path in root.rglob("*.py")) == sorted(FILES)
        assert [path.name for path in cache.iterdir()] == [root.name], "a partial folder was left behind"


def test_a_task_root_already_there_is_kept(tmp_path):
    stack_dir, sha = stack_with_asset(tmp_path)
    root = CodeStore(stack_dir, tmp_path / "code").task_root(sha)
    marker = root / "in-use"
    marker.write_text("an environment runs from here")
    assert CodeStore(stack_dir, tmp_path / "code").task_root(sha) == root
    assert marker.exists()


def test_a_half_made_task_root_from_an_earlier_run_is_replaced(tmp_path):
    stack_dir, sha = stack_with_asset(tmp_path)
    store = CodeStore(stack_dir, tmp_path / "code")
    root = store.task_root(sha)
    (root / ".complete").unlink()
    (root / "functions" / "__init__.py").unlink()
    assert store.task_root(sha) == root
    assert (root / ".complete").exists() and (root / "functions" / "__init__.py").exists()


def test_code_no_asset_has_is_a_mismatch(tmp_path):
    stack_dir, _ = stack_with_asset(tmp_path)
    with pytest.raises(CodeMismatch, match="no asset under"):
        CodeStore(stack_dir, tmp_path / "code").task_root("bm90IHRoZSBoYXNo")
