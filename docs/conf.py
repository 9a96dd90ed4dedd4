"""Sphinx configuration of fastgd's documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (what ``.ci/run``
does): the pages are the Markdown files of docs/ (MyST), the API reference comes from the
docstrings of the installed package.
"""

from __future__ import annotations

import fastgd

project = "fastgd"
author = "the fastgd developers"
copyright = "2026, the fastgd developers"
release = fastgd.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "images/README.md"]
myst_enable_extensions = ["dollarmath"]
# Headings inside pages become link targets down to level 3, so pages can link to sections.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# The estimators derive from scikit-learn's classes: document what fastgd defines, not what
# scikit-learn does.
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True


def _skip_metadata_routing(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods on every estimator; they are its API, not ours.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)

html_theme = "furo"
html_title = f"fastgd {release}"
