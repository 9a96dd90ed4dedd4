"""Saved models: ``estimator.save(path)`` and :func:`fastgd.load` (docs/persistence.md).

A model file is a ZIP archive laid out as ``np.savez`` lays one out, one ``.npy`` member per array
and a ``metadata.json`` member that says what the file is and holds every other value::

    {"format": "fastgd-model", "format_version": 1, "fastgd_version": "...",
     "class": "SGDClassifier",
     "params": {...},          the constructor's parameters (get_params)
     "attributes": {...},      every fitted attribute, and the state that partial_fit continues
     "arrays": {"coef_": {"dtype": "<f8", "shape": [3, 5], "fortran_order": false}, ...}}

Layers, each on the one below: ``_archive`` (bytes ↔ metadata and arrays: the ZIP, the .npy
members, the header and versions), ``_values`` (JSON ↔ Python values: the tags, the classes a
file may name and their state), ``_model`` (an estimator ↔ its metadata: which attributes, and
the checks that a loaded model holds together), ``_files`` (paths: the atomic save, load's
errors). Reading never executes anything from the file: no pickle, no eval.
"""

from ._files import load, save

__all__ = ["load", "save"]
