"""Pictures of a model: matplotlib figures (``plots``) and the HTML report (``page``)."""
