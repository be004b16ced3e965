"""The single libcst pass: names resolved through imports, positions, loop context."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from greenlint.analyzer.python_facts import extract_python

SOURCE = '''
"""Fine-tune a classifier."""
import torch
import torch.nn.functional as F
from torch.utils import data as D
from .utils import save_checkpoint as save_ckpt

BANNER = """
multi-line string with a torch.save( inside
"""


@torch.no_grad()
def evaluate(model, loader):
    # comment lines shift nothing
    for x, y in loader:
        yield F.softmax(model(x), dim=-1).argmax(-1).cpu()


def train(model, dataset, epochs=3):
    loader = D.DataLoader(dataset, batch_size=32,
                          num_workers=0)
    for epoch in range(epochs):
        for step, (x, y) in enumerate(loader):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            if step % 50 == 0:
                print(loss.item())
        save_ckpt(model, epoch)


if __name__ == "__main__":
    train(model, dataset)
'''


@pytest.fixture(scope="module")
def facts():
    module = cst.parse_module(textwrap.dedent(SOURCE).lstrip("\n"))
    return extract_python(module, "pkg/train.py", "pkg.train")


def call(facts, name):
    return next(c for c in facts.calls if c.name == name)


def test_names_resolve_through_aliases_and_relative_imports(facts) -> None:
    assert call(facts, "torch.utils.data.DataLoader").keyword("num_workers").literal == 0
    assert call(facts, "pkg.utils.save_checkpoint").scope == "train"
    assert call(facts, "torch.nn.functional.cross_entropy").target == "loss"


def test_positions_match_libcst_position_provider(facts) -> None:
    """The cheap position pass must agree with libcst's own, for every fact it positions."""
    module = cst.parse_module(textwrap.dedent(SOURCE).lstrip("\n"))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    expected = sorted(
        (r.start.line, r.start.column + 1)
        for node, r in positions.items()
        if isinstance(node, cst.Call)
    )
    assert sorted((c.line, c.column) for c in facts.calls) == expected
    loops = sorted((r.start.line, r.start.column + 1) for node, r in positions.items() if isinstance(node, cst.For))
    assert sorted((l.line, l.column) for l in facts.loops) == loops


def test_loop_nesting_guards_and_contexts(facts) -> None:
    backward = call(facts, "loss.backward")
    inner = facts.loops[backward.loop]
    assert inner.targets == ("step", "x", "y")
    assert facts.loops[inner.parent].targets == ("epoch",)
    assert call(facts, "loss.item").guards == ("step % 50 == 0",)
    assert call(facts, "torch.nn.functional.cross_entropy").contexts == ("torch.autocast",)
    assert call(facts, "?.cpu").contexts == ("torch.no_grad",)


def test_functions_entry_point_and_strings(facts) -> None:
    assert [f.qualname for f in facts.functions] == ["evaluate", "train"]
    assert facts.functions[0].decorators == ("torch.no_grad",)
    assert facts.entry_point
    assert "cuda" in facts.strings
    assert "torch.bfloat16" in facts.names


OPERATIONS = '''
import math
import torch
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


def attend(q, k, v, x):
    if HAS_SDPA:
        return F.scaled_dot_product_attention(q, k, v)
    else:
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        return torch.einsum("bij,bjd->bid", att.softmax(-1), v)


def loop(x, out, paths):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2 + x[i + 1:].sum()
    images = [open(p).read() for p in paths]
    return torch.matmul(out, x), images
'''


@pytest.fixture(scope="module")
def ops():
    module = cst.parse_module(textwrap.dedent(OPERATIONS).lstrip("\n"))
    return extract_python(module, "attn.py", "attn")


def test_conditions_cover_every_enclosing_if_with_else_negated(ops) -> None:
    sdpa = next(c for c in ops.calls if c.name.endswith("scaled_dot_product_attention"))
    assert sdpa.conditions == ("HAS_SDPA",)
    assert sdpa.guards == ()  # guards stay limited to ifs inside loops
    softmax = next(c for c in ops.calls if c.method == "softmax")
    assert softmax.conditions == ("not (HAS_SDPA)",)
    assert all(c.conditions == () for c in ops.calls if c.scope == "loop")


def test_operations_record_products_scaling_and_loop_indexing(ops) -> None:
    found = {(o.op, o.left, o.right, o.target) for o in ops.operations}
    assert ("@", "q", "k.transpose(-2, -1)", "att") in found
    assert ("/", "(q @ k.transpose(-2, -1))", "math.sqrt(k.size(-1))", "att") in found
    assert ("einsum", "att.softmax(-1)", "v", None) in found
    assert ("@", "out", "x", None) in found  # torch.matmul(out, x)
    scaled = next(o for o in ops.operations if o.op == "/")
    assert scaled.conditions == ("not (HAS_SDPA)",) and scaled.scope == "attend"


def test_subscripts_by_loop_targets_and_comprehensions(ops) -> None:
    loop = next(l for l in ops.loops if l.scope == "loop")
    assert loop.iter_shape == "range(x.shape[0])"
    indexed = {(o.left, o.right, o.store) for o in ops.operations if o.op == "[]"}
    assert indexed == {("out", "i", True), ("x", "i", False), ("x", "(i + 1):", False)}
    assert all(o.loop == loop.id for o in ops.operations if o.op == "[]")
    comprehension = next(o for o in ops.operations if o.op == "for")
    assert (comprehension.left, comprehension.right, comprehension.target) == ("p", "paths", "images")


def test_operation_positions_match_libcst(ops) -> None:
    module = cst.parse_module(textwrap.dedent(OPERATIONS).lstrip("\n"))
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    products = sorted((r.start.line, r.start.column + 1) for node, r in positions.items()
                      if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply))
    assert sorted((o.line, o.column) for o in ops.operations if o.op == "@" and o.left == "q") == products


def test_string_concatenation_keeps_its_operands() -> None:
    """A path built with ``+`` can be followed into its parts; tensor arithmetic stays opaque."""
    source = 'import torch\nfor name in names:\n    f = open(root + name + ".json")\n    y = model(x + noise)\n'
    facts = extract_python(cst.parse_module(source), "paths.py", "paths")
    path = call(facts, "open").positional(0)
    assert path.kind == "other"
    assert {(v.kind, v.text or v.literal) for v in path.walk()} >= {("name", "root"), ("name", "name"), ("literal", ".json")}
    assert call(facts, "model").positional(0).items == ()


def test_tuple_unpacking_assigns_each_name_its_own_value() -> None:
    """``batch_size, epochs = args.batch_size, args.epochs`` binds epochs to its option,
    so a loop over ``range(1, epochs + 1)`` can be counted from the option's default."""
    source = textwrap.dedent("""
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", default=500, type=int)
        args = parser.parse_args()
        batch_size, epochs = args.batch_size, args.epochs
        first, *rest = [1, 2, 3]
        model, optimizer = build(), None
    """).lstrip("\\n")
    found = extract_python(cst.parse_module(source), "main.py", "main")
    bound = {a.target: a.value for a in found.assignments}
    assert bound["epochs"].kind == "attribute" and bound["epochs"].text == "args.epochs"
    assert bound["batch_size"].text == "args.batch_size"
    assert bound["model"].kind == "call" and bound["optimizer"].literal is None
    assert bound["first"].kind == "other" and bound["rest"].kind == "other"  # a starred target: no pairs


CLOSURES = '''
import time


def train(model, loader, optimizer, timer):
    for step, (x, y) in enumerate(loader):
        def train_step():
            loss = model(x, y)
            loss.backward()
            optimizer.step()
            if step % 100 == 0:
                print(loss.item())
            return loss.detach()

        def describe():
            return repr(model)

        loss, elapsed = timer(train_step)
    return describe
'''


def test_a_closure_the_loop_hands_on_runs_in_the_loop_and_one_it_only_defines_does_not() -> None:
    facts = extract_python(cst.parse_module(textwrap.dedent(CLOSURES).lstrip("\n")), "train.py", "train")
    backward = call(facts, "loss.backward")
    assert backward.scope == "train.train_step"
    assert facts.loops[backward.loop].targets == ("step", "x", "y")
    assert call(facts, "loss.item").guards == ("step % 100 == 0",)
    assert call(facts, "repr").loop is None  # describe() is defined in the loop, used after it


EARLY_EXIT = '''
import sys


def main(args, model, loader):
    if args.evaluate:
        validate(model, loader)
        return
    for batch in loader:
        if batch is None:
            sys.exit("empty batch")
        train_step(model, batch)
    save(model)


def helper(x):
    if x:
        print(x)
    return finish(x)
'''


def test_code_after_an_early_exit_runs_only_when_its_test_fails() -> None:
    facts = extract_python(cst.parse_module(textwrap.dedent(EARLY_EXIT).lstrip("\\n")), "run.py", "run")
    assert call(facts, "validate").conditions == ("args.evaluate",)
    assert call(facts, "train_step").conditions == ("not (args.evaluate)", "not (batch is None)")
    assert call(facts, "save").conditions == ("not (args.evaluate)",)  # the loop's own exit ends with its body
    assert call(facts, "finish").conditions == ()  # an if without an exit adds nothing after it


def test_a_method_of_a_container_element_keeps_the_container_name() -> None:
    source = textwrap.dedent('''
        def train_step(self, losses):
            self.optimizer["generator"].step()
            losses["g"].item()
            self.scaler.scale(losses["g"]).backward()
    ''')
    facts = extract_python(cst.parse_module(source), "gan.py", "gan")
    step = call(facts, "?self.optimizer[].step")
    assert (step.receiver, step.method, step.shown) == ("?self.optimizer[]", "step", "self.optimizer[...].step")
    assert call(facts, "?losses[].item").shown == "losses[...].item"
    assert call(facts, "?.backward").shown == ".backward"


def test_a_function_returning_only_an_integer_records_it() -> None:
    source = textwrap.dedent('''
        class Demo:
            def __len__(self):
                """Two copies of one example."""
                return 2

            def size(self): return 3

            def count(self):
                n = 4
                return n
    ''')
    facts = extract_python(cst.parse_module(source), "demo.py", "demo")
    assert {f.name: f.returns for f in facts.functions} == {"__len__": 2, "size": 3, "count": None}
