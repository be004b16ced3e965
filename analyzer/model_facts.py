"""Facts about nn.Module classes for the cost model (filled in by the cost estimator)."""

from __future__ import annotations

from typing import Any

import libcst as cst


def describe_model_class(node: cst.ClassDef, bases: tuple[str, ...], extractor: Any) -> Any | None:
    """A picklable description of an nn.Module subclass, or None for other classes."""
    return None
