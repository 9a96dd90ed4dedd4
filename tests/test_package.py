"""The installed package: version, build information and the `python -m fastgd` command."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

import fastgd


def test_version_matches_the_distribution():
    assert fastgd.__version__ == version("fastgd")


def test_build_info():
    info = fastgd.build_info()
    assert info["version"] == fastgd.__version__
    assert isinstance(info["compiler"], str) and info["compiler"]
    assert isinstance(info["openmp"], bool)
    assert isinstance(info["max_threads"], int) and info["max_threads"] >= 1
    assert isinstance(info["cuda"], bool)
    assert info["cuda_available"] == fastgd.HAS_CUDA
    assert info["simd"] in {"avx512f", "avx2+fma", "avx", "sse4.2", "sse2", "neon", "scalar"}
    if not info["openmp"]:
        assert info["max_threads"] == 1


def test_main_command_learns_the_true_parameters():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastgd",
            "--n-samples",
            "20000",
            "--n-features",
            "4",
            "--epochs",
            "6",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert len(re.findall(r"^\s+\d+\s+\S+\s+\S+\s+\S+ms$", out, re.M)) == 6  # one line per epoch
    rows = re.findall(r"^(w\[\d\]|b)\s+(\S+)\s+(\S+)$", out, re.M)  # name, learned, true
    assert len(rows) == 5
    learned = np.array([float(r[1]) for r in rows])
    true = np.array([float(r[2]) for r in rows])
    np.testing.assert_allclose(learned, true, atol=0.02)
    assert "ms per epoch" in out


def _stub_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return names


def test_core_stub_matches_the_module():
    from fastgd import _core

    stub = Path(fastgd.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    public = {n for n in dir(_core) if not n.startswith("_")} | {"__version__"}
    assert _stub_names(tree) == public
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):  # same parameters, in the same order
            signature = getattr(_core, node.name).__doc__.splitlines()[0]
            params = node.args.args + node.args.kwonlyargs
            assert re.findall(r"(?:\(|, )(\w+):", signature) == [a.arg for a in params]
        if isinstance(node, ast.ClassDef):
            cls = getattr(_core, node.name)
            if hasattr(cls, "__members__"):  # an enum: the same members, in the same order
                members = [t.targets[0].id for t in node.body if isinstance(t, ast.Assign)]
                assert members == list(cls.__members__)
            else:  # a class: the same public methods and properties
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                public = {n for n in dir(cls) if not n.startswith("_")} | {"__init__"}
                assert methods == public
