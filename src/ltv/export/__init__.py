"""Exporting fitted models to serving formats (TF Serving SavedModel, ...)."""
