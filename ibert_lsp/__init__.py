"""ibert: a language server with a local, checked code model for Ibis."""

__version__ = "0.1.0"
