"""The package version (recorded in manifests and exported files)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
