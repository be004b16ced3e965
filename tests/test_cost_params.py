"""Parameter counts from source: hand-derived formulas, and torch's own count.

Every expected number here is computed independently of greenlint: from PyTorch's
documented parameter shapes written out in the test, or by building the same model with
torch and summing ``p.numel()``.
"""

from __future__ import annotations

import textwrap

import pytest

from test_cost_helpers import estimates

MLP = """
    import torch.nn as nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

        def forward(self, x):
            return self.net(x)

    model = MLP()
"""


def test_mlp_parameters_by_hand(write, tmp_path):
    write("mlp.py", MLP)
    expected = (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10)
    assert estimates(tmp_path)["MLP"].params == expected == 235_146


def test_layer_options_change_parameters_as_pytorch_defines(write, tmp_path):
    write("net.py", """
        import torch.nn as nn

        class Options(nn.Module):
            def __init__(self):
                super().__init__()
                self.depthwise = nn.Conv2d(32, 32, 3, groups=32, bias=False)
                self.pointwise = nn.Conv2d(32, 64, 1)
                self.bn = nn.BatchNorm2d(64, affine=False)
                self.ln = nn.LayerNorm(64, bias=False)
                self.gn = nn.GroupNorm(8, 64)
                self.lstm = nn.LSTM(64, 100, num_layers=2, bidirectional=True)
                self.gru = nn.GRU(64, 50, bias=False)
                self.up = nn.ConvTranspose2d(64, 16, 4, stride=2, groups=2)

            def forward(self, x):
                return x

        model = Options()
    """)
    lstm = 0
    for layer in range(2):
        width = 64 if layer == 0 else 200
        lstm += 2 * (4 * 100 * width + 4 * 100 * 100 + 2 * 4 * 100)  # two directions
    expected = (
        32 * 1 * 3 * 3          # depthwise: in/groups = 1, no bias
        + 64 * 32 + 64          # pointwise
        + 0                     # batch norm without affine: buffers only
        + 64                    # layer norm weight, no bias
        + 2 * 64                # group norm weight and bias
        + lstm
        + 3 * 50 * 64 + 3 * 50 * 50  # GRU without biases
        + 64 * (16 // 2) * 4 * 4 + 16  # transposed conv weight (in, out/groups, k, k) and bias
    )
    assert estimates(tmp_path)["Options"].params == expected


def test_tied_weights_are_counted_once(write, tmp_path):
    write("lm.py", """
        import torch.nn as nn

        class TiedLM(nn.Module):
            def __init__(self, vocab=1000, dim=64):
                super().__init__()
                self.embed = nn.Embedding(vocab, dim)
                self.head = nn.Linear(dim, vocab)
                self.head.weight = self.embed.weight

            def forward(self, idx):
                return self.head(self.embed(idx))

        model = TiedLM()
    """)
    assert estimates(tmp_path)["TiedLM"].params == 1000 * 64 + 1000


def test_config_dataclass_and_argparse_defaults_in_another_file(write, tmp_path):
    write("model.py", """
        from dataclasses import dataclass
        import torch.nn as nn

        @dataclass
        class Config:
            vocab: int = 500
            width: int = 32
            layers: int = 2

        class Stack(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.embed = nn.Embedding(config.vocab, config.width)
                self.blocks = nn.ModuleList([nn.Linear(config.width, config.width) for _ in range(config.layers)])

            def forward(self, idx):
                x = self.embed(idx)
                for block in self.blocks:
                    x = block(x)
                return x
    """)
    write("train.py", """
        import argparse
        import torch
        from model import Config, Stack

        parser = argparse.ArgumentParser()
        parser.add_argument("--layers", type=int, default=6)
        parser.add_argument("--width", type=int, default=48)
        args = parser.parse_args()
        model = Stack(Config(width=args.width, layers=args.layers))
    """)
    estimate = estimates(tmp_path)["Stack"]
    assert estimate.params == 500 * 48 + 6 * (48 * 48 + 48)
    assert estimate.built_at == "train.py:9"


def test_width_from_data_is_unknown_and_says_why(write, tmp_path):
    write("tagger.py", """
        import json
        import torch.nn as nn

        class Tagger(nn.Module):
            def __init__(self, vocab_size, dim=64):
                super().__init__()
                self.embed = nn.Embedding(vocab_size, dim)

            def forward(self, x):
                return self.embed(x)

        vocab = json.load(open("vocab.json"))
        model = Tagger(len(vocab))
    """)
    estimate = estimates(tmp_path)["Tagger"]
    assert estimate.params is None
    assert "'vocab' at tagger.py:12" in estimate.params_reason


def test_submodule_classes_are_parts_not_models(write, tmp_path):
    write("net.py", """
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)

            def forward(self, x):
                return self.conv(x)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.Sequential(*[Block(16) for _ in range(3)])

            def forward(self, x):
                return self.blocks(x)

        net = Net()
    """)
    found = estimates(tmp_path)
    assert set(found) == {"Net"}
    assert found["Net"].params == 3 * (16 * 16 * 9 + 16)


TORCH_MODELS = {
    "resnet_block": """
        import torch.nn as nn
        import torch.nn.functional as F

        class BasicBlock(nn.Module):
            expansion = 1

            def __init__(self, in_planes, planes, stride=1):
                super().__init__()
                self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(planes)
                self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(planes)
                self.shortcut = nn.Sequential()
                if stride != 1 or in_planes != planes:
                    self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

            def forward(self, x):
                out = F.relu(self.bn1(self.conv1(x)))
                return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

        class ResNet(nn.Module):
            def __init__(self, block, num_blocks, num_classes=10):
                super().__init__()
                self.in_planes = 16
                self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(16)
                self.layer1 = self._make_layer(block, 16, num_blocks[0], 1)
                self.layer2 = self._make_layer(block, 32, num_blocks[1], 2)
                self.linear = nn.Linear(32, num_classes)

            def _make_layer(self, block, planes, n, stride):
                layers = []
                for s in [stride] + [1] * (n - 1):
                    layers.append(block(self.in_planes, planes, s))
                    self.in_planes = planes * block.expansion
                return nn.Sequential(*layers)

            def forward(self, x):
                out = self.layer2(self.layer1(F.relu(self.bn1(self.conv1(x)))))
                return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))

        model = ResNet(BasicBlock, [2, 2])
    """,
    "transformer": """
        import torch.nn as nn

        class Translator(nn.Transformer):
            def __init__(self, vocab=1000, d_model=64):
                super().__init__(d_model=d_model, nhead=4, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=128)
                self.embed = nn.Embedding(vocab, d_model)
                self.out = nn.Linear(d_model, vocab)

            def forward(self, src):
                x = self.embed(src)
                return self.out(self.decoder(x, self.encoder(x)))

        model = Translator()
    """,
    "rnn_lm": """
        import torch.nn as nn

        class RNNModel(nn.Module):
            def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, tie_weights=False):
                super().__init__()
                self.encoder = nn.Embedding(ntoken, ninp)
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers)
                self.decoder = nn.Linear(nhid, ntoken)
                if tie_weights:
                    self.decoder.weight = self.encoder.weight

            def forward(self, x):
                out, _ = self.rnn(self.encoder(x))
                return self.decoder(out)

        model = RNNModel("GRU", 2000, 128, 128, 2, tie_weights=True)
    """,
    "vit_parts": """
        import torch
        import torch.nn as nn

        class TinyViT(nn.Module):
            def __init__(self, dim=96, depth=3, patch=8):
                super().__init__()
                self.patch = nn.Conv2d(3, dim, patch, stride=patch)
                self.cls = nn.Parameter(torch.zeros(1, 1, dim))
                self.pos = nn.Parameter(torch.zeros(1, (32 // patch) ** 2 + 1, dim))
                layer = nn.TransformerEncoderLayer(dim, 4, dim * 2, batch_first=True)
                self.blocks = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim))
                self.register_buffer("scale", torch.ones(dim))
                self.head = nn.Linear(dim, 10)

            def forward(self, x):
                x = self.patch(x).flatten(2).transpose(1, 2)
                x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
                return self.head(self.blocks(x)[:, 0])

        model = TinyViT()
    """,
    "densenet_style": """
        from collections import OrderedDict

        import torch
        import torch.nn as nn

        class DenseLayer(nn.Sequential):
            def __init__(self, cin, growth):
                super().__init__()
                self.add_module("norm", nn.BatchNorm2d(cin))
                self.add_module("conv", nn.Conv2d(cin, growth, kernel_size=3, padding=1, bias=False))

        class DenseBlock(nn.Module):
            def __init__(self, layers, cin, growth):
                super().__init__()
                for i in range(layers):
                    self.add_module("denselayer%d" % (i + 1), DenseLayer(cin + i * growth, growth))

            def forward(self, x):
                features = [x]
                for _, layer in self.named_children():
                    features.append(layer(torch.cat(features, 1)))
                return torch.cat(features, 1)

        class DenseNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(OrderedDict([
                    ("conv0", nn.Conv2d(3, 32, kernel_size=3, padding=1, bias=False)),
                    ("block1", DenseBlock(4, 32, 16)),
                    ("norm5", nn.BatchNorm2d(32 + 4 * 16)),
                ]))
                self.classifier = nn.Linear(32 + 4 * 16, 10)

            def forward(self, x):
                return self.classifier(self.features(x).mean((2, 3)))

        model = DenseNet()
    """,
}


@pytest.mark.parametrize("name", sorted(TORCH_MODELS))
def test_parameters_match_torch(name, write, tmp_path):
    torch = pytest.importorskip("torch")
    source = textwrap.dedent(TORCH_MODELS[name])
    write("model.py", source)
    namespace: dict = {}
    exec(compile(source, "model.py", "exec"), namespace)  # noqa: S102 - the test's own model code
    model = namespace["model"]
    expected = sum(p.numel() for p in model.parameters())
    assert isinstance(model, torch.nn.Module)
    (estimate,) = [e for e in estimates(tmp_path).values() if e.name == type(model).__name__]
    assert estimate.params == expected


def test_parameter_count_printed_by_the_model_itself_does_not_stop_the_count(write, tmp_path):
    # a vocoder that prints its trainable parameters from __init__: filter() with a lambda
    # over self.parameters() must be evaluated (or given up on) without an error
    write("vocoder.py", """
        import numpy as np
        import torch.nn as nn

        class Vocoder(nn.Module):
            def __init__(self, mel_bins=80, hidden=512, bits=9):
                super().__init__()
                self.rnn = nn.GRU(mel_bins, hidden, batch_first=True)
                self.fc = nn.Linear(hidden, 2 ** bits)
                self.num_params()

            def num_params(self):
                parameters = filter(lambda p: p.requires_grad, self.parameters())
                count = sum([np.prod(p.size()) for p in parameters]) / 1_000_000
                print(f"Trainable parameters: {count:.3f}M")

            def forward(self, mels):
                out, _ = self.rnn(mels)
                return self.fc(out)

        model = Vocoder()
    """)
    gru = 3 * (512 * 80 + 512 * 512 + 2 * 512)  # weight_ih, weight_hh, two biases per gate
    assert estimates(tmp_path)["Vocoder"].params == gru + 512 * 512 + 512


def test_a_constant_changed_by_an_augmented_assignment_is_unknown(write, tmp_path):
    write("gan.py", """
        import torch.nn as nn

        LATENT_DIM = 50
        IMG_SHAPE = (1, 28, 28)
        IMG_SIZE = 1
        for x in IMG_SHAPE:
            IMG_SIZE *= x

        class GAN(nn.Module):
            def __init__(self):
                super().__init__()
                self.generator = nn.Sequential(nn.Linear(LATENT_DIM, 128), nn.LeakyReLU(), nn.Linear(128, IMG_SIZE), nn.Tanh())
                self.discriminator = nn.Sequential(nn.Linear(IMG_SIZE, 128), nn.LeakyReLU(), nn.Linear(128, 1))

            def generator_forward(self, z):
                return self.generator(z)

        model = GAN()
    """)
    estimate = estimates(tmp_path)["GAN"]
    # IMG_SIZE is 784 when the loop has run, not the 1 it is first bound to: unknown, not 7,042
    assert estimate.params is None and "augmented assignment" in estimate.params_reason
