"""Model files of the command line: ``estimator.save(path)`` / ``fastgd.load(path)``, written
to a temporary file first so that a failure leaves no model file behind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def save(model: Any, path: str) -> None:
    """Write ``model`` to ``path``, replacing it only once the whole file is written."""
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        _write(model, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _write(model: Any, path: Path) -> None:
    if hasattr(model, "save"):
        model.save(path)
        return
    import pickle  # until the estimators can save themselves (fastgd.load), a pickle

    with open(path, "wb") as f:
        pickle.dump(model, f)


def load(path: str) -> Any:
    """The model saved at ``path``."""
    import fastgd

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    loader = getattr(fastgd, "load", None)
    if loader is not None:
        return loader(path)
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)
