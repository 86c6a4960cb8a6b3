"""Sphinx configuration: the guide (the committed notebooks, not re-run) and the API reference
generated from barenet's docstrings. Build with ``sphinx-build -W -b html docs docs/_build``."""

from barenet.version import __version__

project = "barenet"
author = "the barenet authors"
release = version = __version__

extensions = [
    "myst_nb",  # the guide's notebooks and these Markdown pages
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style "Args:", "Returns:", "Shape:" sections
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    # MathJax served from the built site itself (the package vendors it), so the formulas render
    # offline: the site loads no script, stylesheet or font from the internet.
    "sphinx-mathjax-offline",
]
exclude_patterns = ["_build", "guide/*.md", "guide/README.md", "**.ipynb_checkpoints"]
nb_execution_mode = "off"  # CI runs the chapters with nbmake; the pages show their outputs
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # links such as cli.md#barenet-train reach a section of another page

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_custom_sections = [("Shape", "notes_style")]
napoleon_use_rtype = False

html_theme = "furo"
html_title = f"barenet {release}"
