"""Runs the hypothesis properties (tests/properties_ops.py) in a subprocess, so that a crash of
the interpreter is a test failure with its output, not the end of the test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_properties_in_a_subprocess():
    env = dict(os.environ)
    env.setdefault("FASTGD_HYPOTHESIS_EXAMPLES", "150")  # the full run: 10,000 (see the file)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "properties_ops.py"),
        ],
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"exit status {proc.returncode} (negative: killed by signal {-proc.returncode})\n"
        f"{proc.stdout[-5000:]}\n{proc.stderr[-3000:]}"
    )
    assert " passed" in proc.stdout
