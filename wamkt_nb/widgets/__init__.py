"""ipywidgets views: thin shells over the core packages, one module per view."""
