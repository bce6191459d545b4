"""Loaders for the bundled datasets and users' own files."""
