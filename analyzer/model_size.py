"""Whether the models a file trains are tiny or large, by the static cost model's count.

A model of a few thousand to a hundred thousand parameters (a tabular MLP, a LeNet, a toy
ODE function) trains in minutes on any GPU and has no matrix large enough for tensor
cores to speed up. Advice that pays off on long, matmul-heavy runs (mixed precision,
checkpoints) is noise there. Only complete counts decide: a model whose construction or
forward the estimator could not follow is never called tiny.
"""

from __future__ import annotations

from greenlint.analyzer.cost.static import ModelEstimate, estimate_project
from greenlint.analyzer.facts import FileFacts
from greenlint.analyzer.project import Project

#: At most this many parameters is a tiny model.
TINY_PARAMETERS = 100_000
#: At least this many parameters is a large model: a ResNet-18 has 11.7 million.
LARGE_PARAMETERS = 10_000_000


def trains_only_tiny_models(project: Project, facts: FileFacts) -> bool:
    """Does every model defined or built in this file have a complete count of at most
    ``TINY_PARAMETERS`` parameters? False when the file has none the estimator knows.
    A module without parameters (a loss, an empty example class) trains nothing and is
    left out. Estimated once per file, however many rules ask."""
    estimates = [e for e in _estimates(project, facts) if not _parameterless(e)]
    return bool(estimates) and all(_tiny(e) for e in estimates)


def largest_model_parameters(project: Project, facts: FileFacts) -> int | None:
    """Parameters of the largest model this file defines or builds (also a model class it
    imports from another project module), as far as counted (a lower bound is enough to
    call a model large: layers the estimator could not follow only add); None when it
    counts none. Estimated once per file."""
    imported = project.derived("imported model estimates", facts, lambda: _imported_estimates(project, facts))
    return max((e.params for e in (*_estimates(project, facts), *imported) if e.params is not None), default=None)


def _estimates(project: Project, facts: FileFacts) -> list[ModelEstimate]:
    """The cost model's estimates of the models this file defines or builds, computed
    once per file however many rules ask (estimating is the costly step)."""
    return project.derived("model estimates", facts, lambda: [
        e for e in estimate_project(project, within=lambda path: path == facts.path) if _in_file(e, facts)])


def _in_file(estimate: ModelEstimate, facts: FileFacts) -> bool:
    return estimate.path == facts.path or estimate.built_at.startswith(f"{facts.path}:")


def _imported_estimates(project: Project, facts: FileFacts) -> list[ModelEstimate]:
    """Estimates of the model classes this file imports from another project module and
    builds (``train.py`` builds the ``SmallCNN`` of ``model.py``), as the cost model counts
    them where it finds them built. Their arguments here may differ, so these counts only
    serve ``largest_model_parameters``, never to call a model tiny."""
    found: list[ModelEstimate] = []
    for other in project.imported_files(facts):
        built = {cls.name for cls in other.classes if any(c.name == f"{other.module}.{cls.name}" for c in facts.calls)}
        if built:  # the module's own estimates, computed once whichever file asks
            found.extend(e for e in _estimates(project, other) if e.path == other.path and e.name in built)
    return found


def _parameterless(estimate: ModelEstimate) -> bool:
    """A complete count of zero: the module holds no layers at all."""
    return estimate.params == 0 and not estimate.params_reason and not _unfollowed(estimate)


def _unfollowed(estimate: ModelEstimate) -> bool:
    texts = (*estimate.notes, estimate.macs_reason)
    return any("not followed" in text or "not modeled" in text for text in texts)


def _tiny(estimate: ModelEstimate) -> bool:
    """A complete count at most ``TINY_PARAMETERS``. A forward the estimator could not
    follow (a nested helper, an unmodelled container) may hide layers, so it disqualifies
    even when the input shape alone left the MACs unknown."""
    if estimate.params is None or estimate.params_reason or not 0 < estimate.params <= TINY_PARAMETERS:
        return False
    return not _unfollowed(estimate)
