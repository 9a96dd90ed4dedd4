"""The installed package: version, build information, the stubs, and the files it ships."""

from __future__ import annotations

import ast
import re
from importlib.metadata import version
from pathlib import Path

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


def test_the_data_sets_are_installed_with_the_package():
    # pyproject's wheel.packages ships every file under python/fastgd, not only .py files
    from fastgd.datasets import load_penguins

    root = Path(fastgd.__file__).parent / "datasets"
    assert (root / "penguins.csv").is_file() and (root / "README.md").is_file()
    t = load_penguins()
    assert t.X.shape == (333, 8) and t.y.shape == (333,) and len(t.feature_names) == 8
    assert t.target_name == "body_mass_g" and "CC0" in t.description
