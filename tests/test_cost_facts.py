"""Model facts: what one libcst pass keeps of a model class, and that it stays small,
picklable and safe on any input."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import libcst as cst

from greenlint.analyzer.model_facts import ModelClass
from greenlint.analyzer.python_facts import extract_python

SOURCE = '''
import argparse
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--hidden", type=int, default=128)
args = parser.parse_args()
HIDDEN = args.hidden
UNUSED = 3


def conv3x3(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class Net(nn.Module):
    expansion = 2

    def __init__(self, classes=10):
        super().__init__()
        self.conv = conv3x3(1, HIDDEN)
        self.fc = nn.Linear(HIDDEN, classes)

    def features(self, x):
        return F.relu(self.conv(x))

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))

    def configure_optimizers(self):
        return None
'''


def _models(source: str) -> list[ModelClass]:
    facts = extract_python(cst.parse_module(textwrap.dedent(source)), "net.py", "net")
    return [m for m in facts.models if isinstance(m, ModelClass)]


def test_a_module_class_keeps_the_methods_forward_reaches_and_the_globals_it_reads():
    (net,) = _models(SOURCE)
    assert net.kind == "module" and net.bases == ("torch.nn.Module",)
    assert [m.name for m in net.methods] == ["__init__", "features", "forward"]  # not configure_optimizers
    assert {g.name for g in net.globals} == {"HIDDEN", "args", "parser", "conv3x3"}
    assert [f.name for f in net.fields] == ["expansion"]
    assert net.line == SOURCE.splitlines().index("class Net(nn.Module):") + 1


def test_config_dataclasses_keep_their_field_defaults():
    (config,) = _models("""
        from dataclasses import dataclass, field

        @dataclass
        class GPTConfig:
            block_size: int = 1024
            n_layer: int = 12
            dropout: float = field(default=0.1)
    """)
    assert config.kind == "config" and config.dataclass
    assert [(f.name, f.default.value) for f in config.fields] == [("block_size", 1024), ("n_layer", 12), ("dropout", 0.1)]


def test_model_facts_pickle_and_stay_small():
    facts = extract_python(cst.parse_module(SOURCE), "net.py", "net")
    assert pickle.loads(pickle.dumps(facts)).models[0].name == "Net"
    assert len(pickle.dumps(facts.models)) < 8000


def test_odd_code_never_breaks_extraction():
    models = _models("""
        import torch.nn as nn

        class Odd(nn.Module):
            def __init__(self, *layers, scale=lambda x: x, **extra):
                super().__init__()
                if (n := len(layers)) > 2:
                    self.layers = nn.ModuleList([*layers])
                while False:
                    pass
                async def helper():
                    return 1
                self.head = nn.Linear(extra["width"], 1) if extra else None

            def forward(self, x, *rest):
                return self.head(x)[..., ::2]
    """)
    assert models and models[0].name == "Odd"


def test_plain_classes_are_not_described():
    assert _models("class Dataset:\n    def __len__(self):\n        return 3\n") == []


def test_the_static_cost_model_imports_without_torch_or_fvcore():
    code = (
        "import sys\n"
        "for name in ('torch', 'fvcore', 'numpy'):\n"
        "    sys.modules[name] = None\n"
        "import greenlint.analyzer.cost.static, greenlint.analyzer.cost.report, greenlint.estimate_cli\n"
        "import greenlint.rules.model_over_budget, greenlint.measure, greenlint.measure.handles\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr
