"""benchmarks/suite_cpu.py: the kind of each process, and a child's CPU counted under it."""

from __future__ import annotations

import sys

from benchmarks import suite_cpu


def test_processes_are_named_by_what_they_run():
    assert suite_cpu.kind(["/usr/local/bin/terraform", "plan", "-no-color"]) == "terraform plan"
    provider = ".terraform/providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/"
    provider += "terraform-provider-aws_v5.100.0_x5"
    assert suite_cpu.kind([provider]) == "terraform-provider-aws"
    assert suite_cpu.kind([sys.executable, "-m", "local.router", "--deployment", "x"]) == "python -m local.router"
    assert suite_cpu.kind([sys.executable, "-m", "pytest", "-n", "4"]) == "pytest (main process)"
    assert suite_cpu.kind([sys.executable, "main.py"]) == "python main.py"
    assert suite_cpu.kind(["node", "x.js"]) == "node"
    assert suite_cpu.kind([]) == "(no command line)"


def test_a_childs_cpu_is_counted_under_its_kind(capsys):
    # 0.6 s of CPU: the last sample, at most 0.3 s of wall time before the child exits, has seen
    # most of it even when the child shares the cores with the other test workers.
    busy = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass"
    assert suite_cpu.main(["--", sys.executable, "-c", busy]) == 0
    lines = capsys.readouterr().out.splitlines()
    (child,) = [line for line in lines if line.endswith("python -c ...")]
    assert 0.2 <= float(child.split()[0]) <= 1.2, lines
    assert "exit 0" in lines[-1]
