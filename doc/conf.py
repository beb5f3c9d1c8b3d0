"""Sphinx configuration of the skcredit documentation.

Build the HTML pages from the repository root with::

    sphinx-build -W --keep-going -b html doc doc/_build/html

The build runs the examples in ``examples/`` through sphinx-gallery and
generates the API pages from the docstrings. It needs no network access:
intersphinx is not used, so references to other projects render as plain
text.
"""

import os
from pathlib import Path

import skcredit
from skcredit.datasets import FASHION_MNIST_DIR

# -- Project ----------------------------------------------------------------

project = "skcredit"
author = "The skcredit developers"
copyright = "The skcredit developers"
release = skcredit.__version__
version = release

# -- General ----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
root_doc = "index"
default_role = "literal"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"

# numpydoc renders the Attributes sections; the class template lists the
# methods, so numpydoc does not add a second list of members.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True

# -- Examples gallery -------------------------------------------------------

# plot_paper_setting.py exits when the MNIST-format data are missing, which
# sphinx-gallery would report as a failure: its code is then shown without
# running it.
_examples_to_run = r"/plot_"
if not os.path.isdir(os.environ.get("SKCREDIT_MNIST_DIR", FASHION_MNIST_DIR)):
    _examples_to_run = r"/plot_(?!paper_setting)"

sphinx_gallery_conf = {
    "examples_dirs": str(Path(__file__).parent.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": _examples_to_run,
    "doc_module": ("skcredit",),
    "reference_url": {"skcredit": None},
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    # The timing pages would be written into the source folder, doc/.
    "write_computation_times": False,
}

# -- HTML -------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skcredit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
