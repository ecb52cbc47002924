"""Serving: the trained model as an MLflow pyfunc, its registry, and an HTTP API."""
