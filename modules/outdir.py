"""The synthesized output directory (``cdktf.out``): what to do when a run synthesizes nothing."""

from __future__ import annotations

from pathlib import Path


def discard_stale_output(outdir: Path) -> list[str]:
    """Remove the previous run's ``manifest.json`` and every ``stacks/*/cdk.tf.json``, so
    neither the cdktf CLI (``--skip-synth``) nor ``terraform`` run in a stack directory can
    use configuration that no longer matches the environment files. Provider caches and lock
    files stay (they are not configuration). Returns the stack names whose configuration was
    removed; creates nothing."""
    outdir = Path(outdir)
    removed = []
    for config in sorted(outdir.glob("stacks/*/cdk.tf.json")):
        config.unlink()
        removed.append(config.parent.name)
    (outdir / "manifest.json").unlink(missing_ok=True)
    return removed
