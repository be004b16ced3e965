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
    sequentials = project.derived("sequential models", facts, lambda: _sequential_counts(project, facts))
    if not all(count is not None and 0 < count <= TINY_PARAMETERS for count in sequentials):
        return False
    if not estimates:  # only containers of layers: tiny when nothing else builds a model here
        return bool(sequentials) and not _builds_other_models(facts)
    return all(_tiny(e) for e in estimates)


def _sequential_counts(project: Project, facts: FileFacts) -> list[int | None]:
    """Parameters of each ``nn.Sequential`` the file binds to a name (``model_1_layer =
    nn.Sequential(nn.Linear(40, 298), nn.ReLU(), nn.Linear(298, 10))``), None where a
    layer could not be counted. Notebooks and tutorials build their models so, and the
    cost model, which looks for ``nn.Module`` classes, would see none."""
    from greenlint.analyzer.cost.interpreter import Interpreter, Scope, param_count
    from greenlint.analyzer.cost.scopes import call_node, project_index
    from greenlint.analyzer.cost.values import EvalError

    calls = [c for c in facts.calls if c.name == "torch.nn.Sequential" and c.target and "." not in c.target]
    if not calls:
        return []
    index = project_index(project)
    counts: list[int | None] = []
    for call in calls:
        interp = Interpreter(index)
        try:
            built = interp.eval(call_node(call, index.import_roots(facts)), Scope(facts, site=(call.scope, call.line)))
            params = param_count(built)
        except (EvalError, RecursionError):
            params = None
        counts.append(params if isinstance(params, int) and not interp.tally.incomplete else None)
    return counts


#: Where a model comes from that no count here covers: pretrained or library architectures.
LIBRARY_MODELS = ("torchvision.models.", "timm.", "torch.hub.", "transformers.", "keras.", "tensorflow.")


def _builds_other_models(facts: FileFacts) -> bool:
    """Might the file build a model besides its ``nn.Sequential`` ones: a library
    architecture, a pretrained checkpoint, or an instance of a class from outside torch
    (``Net()`` imported from elsewhere)? Then the small containers may be its heads."""
    own = {cls.name for cls in facts.classes}
    for call in facts.calls:
        if call.name.startswith(LIBRARY_MODELS) or call.method == "from_pretrained":
            return True
        spelled = call.name.rpartition(".")[2]
        if spelled[:1].isupper() and not call.name.startswith("torch.") and spelled not in own:
            return True
    return False


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
