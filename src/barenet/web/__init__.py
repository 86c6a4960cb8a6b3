"""``barenet serve``: the drawing page (``static/``) and its JSON API (``app``), on FastAPI."""
