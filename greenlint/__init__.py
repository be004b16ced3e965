"""greenlint: find the energy an ML codebase wastes before it runs."""

__version__ = "0.1.0"
