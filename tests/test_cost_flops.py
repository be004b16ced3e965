"""Forward MACs from source: fvcore's formulas by hand, and fvcore itself.

MACs are fvcore's "flops" (one multiply-add counted once). Hand-written expectations use
fvcore's documented per-op formulas; the fvcore tests build the same model with torch
and count it with FlopCountAnalysis, plain and with greenlint's op handles.
"""

from __future__ import annotations

import logging
import textwrap

import pytest

from test_cost_helpers import estimates


def test_cnn_macs_by_hand(write, tmp_path):
    write("net.py", """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torchvision import datasets

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 32, 3, 1)
                self.bn = nn.BatchNorm2d(32)
                self.conv2 = nn.Conv2d(32, 64, 3, 1)
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                x = F.relu(self.bn(self.conv1(x)))
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                return self.fc(torch.flatten(self.pool(x), 1))

        train = datasets.MNIST("data", train=True, download=True)
        model = Net()
    """)
    estimate = estimates(tmp_path)["Net"]
    conv1 = 26 * 26 * 32 * 1 * 9          # N x out spatial x weight
    bn = 2 * 32 * 26 * 26                  # eval mode, affine: 2 per element
    conv2 = 24 * 24 * 64 * 32 * 9
    pool = 64 * 12 * 12                    # adaptive average pool: 1 per input element
    fc = 64 * 10
    assert estimate.macs == conv1 + bn + conv2 + pool + fc
    assert estimate.input.shape == (1, 28, 28) and "MNIST" in estimate.input.source
    assert dict(estimate.macs_by_op)["batch_norm"] == bn


def test_attention_counts_the_full_score_matrix(write, tmp_path):
    write("attn.py", """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class Causal(nn.Module):
            def __init__(self, dim=64, heads=4):
                super().__init__()
                self.qkv = nn.Linear(dim, 3 * dim, bias=False)
                self.heads = heads

            def forward(self, x):
                B, T, C = x.shape
                q, k, v = self.qkv(x).split(C, dim=2)
                q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)

        model = Causal()
        out = model(torch.randn(2, 50, 64))
    """)
    estimate = estimates(tmp_path)["Causal"]
    assert estimate.input.shape == (50, 64)
    assert estimate.macs == 50 * 64 * 192 + 4 * 50 * 50 * (16 + 16)


def test_training_targets_change_the_training_forward(write, tmp_path):
    write("lm.py", """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class LM(nn.Module):
            def __init__(self, vocab=100, dim=16, block_size=32):
                super().__init__()
                self.embed = nn.Embedding(vocab, dim)
                self.head = nn.Linear(dim, vocab)
                self.block_size = block_size

            def forward(self, idx, targets=None):
                x = self.embed(idx)
                if targets is None:
                    return self.head(x[:, [-1], :]), None
                logits = self.head(x)
                return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

        model = LM()
        logits, _ = model(torch.zeros(1, 32, dtype=torch.long))
    """)
    estimate = estimates(tmp_path)["LM"]
    assert estimate.macs == 16 * 100          # the last position only
    assert estimate.train_macs == 32 * 16 * 100


def test_unknown_input_shape_is_said_plainly(write, tmp_path):
    write("net.py", """
        import torch.nn as nn

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(512, 3)

            def forward(self, features):
                return self.fc(features)

        head = Head()
    """)
    estimate = estimates(tmp_path)["Head"]
    assert estimate.params == 512 * 3 + 3
    assert estimate.macs is None and "input shape unknown" in estimate.macs_reason


FVCORE_MODELS = {
    "cnn_bn": ("""
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                          nn.Conv2d(16, 32, 3, stride=2, groups=2), nn.GroupNorm(4, 32),
                                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 5))

            def forward(self, x):
                return self.body(x)
    """, (1, 3, 32, 32), False),
    "mha": ("""
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(64, 4, batch_first=True)
                self.ff = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)

            def forward(self, x):
                return self.ff(self.attn(x, x, x)[0])
    """, (1, 20, 64), False),
    "lstm": ("""
        import torch.nn as nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(300, 32)
                self.lstm = nn.LSTM(32, 48, num_layers=2, batch_first=True, bidirectional=True)
                self.out = nn.Linear(96, 2)

            def forward(self, x):
                h, _ = self.lstm(self.embed(x))
                return self.out(h[:, -1])
    """, (1, 40), True),
}


@pytest.mark.parametrize("name", sorted(FVCORE_MODELS))
def test_static_macs_equal_fvcore_with_greenlint_handles(name, write, tmp_path):
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    from greenlint.measure.handles import EXTRA_HANDLES

    source, shape, integer = FVCORE_MODELS[name]
    source = textwrap.dedent(source)
    dims = ", ".join(map(str, shape))
    dtype = ", dtype=torch.long" if integer else ""
    write("model.py", source + f"\nimport torch\nmodel = Model()\nout = model(torch.zeros({dims}{dtype}))\n")
    namespace: dict = {}
    exec(compile(source, "model.py", "exec"), namespace)  # noqa: S102 - the test's own model code
    model = namespace["Model"]().eval()
    x = torch.zeros(shape, dtype=torch.long) if integer else torch.zeros(shape)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad():
        plain = fvcore_nn.FlopCountAnalysis(model, (x,))
        plain.unsupported_ops_warnings(False)
        augmented = fvcore_nn.FlopCountAnalysis(model, (x,))
        augmented.set_op_handle(**EXTRA_HANDLES)
        augmented.unsupported_ops_warnings(False)
        measured = augmented.total()
    estimate = estimates(tmp_path)["Model"]
    assert estimate.params == sum(p.numel() for p in model.parameters())
    assert estimate.macs == measured
    if name in ("mha", "lstm"):
        assert plain.total() < measured  # fvcore alone misses the fused kernels
