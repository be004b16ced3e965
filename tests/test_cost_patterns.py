"""Patterns from real repositories' model code, written small: the static estimate equals
torch's parameter count and fvcore's MACs (with greenlint's handles), or says why not.

Each model here is this test's own code, shaped like what open-source examples do:
registering blocks with ``__setattr__``, yacs-style config nodes filled by a static
method and a dataset, lambdas, einops patchifying, torchvision trunks taken apart,
helpers called from a notebook loop.
"""

from __future__ import annotations

import logging
import textwrap
from typing import Any

import pytest

from test_cost_helpers import estimates


def torch_counts(source: str, build: str, shape: tuple[int, ...], integer: bool = False, inputs: int = 1) -> tuple[int, int]:
    """Parameters and fvcore MACs (with greenlint's handles) of ``build`` evaluated after
    ``source``, fed zeros of ``shape`` (``inputs`` times)."""
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    from greenlint.measure.handles import EXTRA_HANDLES

    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(source), "model.py", "exec"), namespace)  # noqa: S102 - the test's own model code
    model = eval(build, namespace).eval()  # noqa: S307 - the test's own constructor call
    x = torch.zeros(shape, dtype=torch.long) if integer else torch.zeros(shape)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad():
        analysis = fvcore_nn.FlopCountAnalysis(model, tuple([x] * inputs))
        analysis.set_op_handle(**EXTRA_HANDLES)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        macs = int(analysis.total())
    return sum(p.numel() for p in model.parameters()), macs


TREE = """
    import torch
    import torch.nn as nn

    class Node(nn.Module):
        def __init__(self, channels, level):
            super().__init__()
            self.level = level
            for i in range(1, level):
                self.__setattr__('child_%d' % i, nn.Conv2d(channels, channels, 3, padding=1))
            self.root = nn.Conv2d(channels * level, channels, 1)

        def forward(self, x):
            outs = [x]
            for i in range(1, self.level):
                outs.append(self.__getattr__('child_%d' % i)(x))
            return self.root(torch.cat(outs, 1))

    class TreeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.tree = Node(8, 3)
            self.head = nn.Linear(8, 10)

        def forward(self, x):
            x = self.tree(self.stem(x))
            return self.head(x.mean((2, 3)))
"""


def test_blocks_registered_with_setattr_are_counted(write, tmp_path):
    write("tree.py", textwrap.dedent(TREE) + "net = TreeNet()\nout = net(torch.randn(1, 3, 16, 16))\n")
    estimate = estimates(tmp_path)["TreeNet"]
    assert (estimate.params, estimate.macs) == torch_counts(TREE, "TreeNet()", (1, 3, 16, 16))


def test_an_unknown_helper_in_init_makes_parameters_unknown_not_smaller(write, tmp_path):
    write("net.py", """
        import torch.nn as nn
        from somewhere import build_layers

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.add_layers(build_layers())

            def forward(self, x):
                return self.fc(x)

        net = Net()
    """)
    estimate = estimates(tmp_path)["Net"]
    assert estimate.params is None and "add_layers" in estimate.params_reason


MINI_GPT = """
    import torch
    import torch.nn as nn
    from torch.utils.data import Dataset

    class CfgNode:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

        def merge_from_dict(self, d):
            self.__dict__.update(d)

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln = nn.LayerNorm(config.n_embd)
            self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
            self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
            m = self
            self.mlpf = lambda x: m.proj(torch.relu(m.fc(x)))

        def forward(self, x):
            return x + self.mlpf(self.ln(x))

    class TinyGPT(nn.Module):
        @staticmethod
        def get_default_config():
            C = CfgNode()
            C.model_type = 'tiny'
            C.vocab_size = None
            C.block_size = None
            return C

        def __init__(self, config):
            super().__init__()
            self.block_size = config.block_size
            config.merge_from_dict({'tiny': dict(n_layer=2, n_embd=32), 'small': dict(n_layer=4, n_embd=64)}[config.model_type])
            self.wte = nn.Embedding(config.vocab_size, config.n_embd)
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
            self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
            self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

        def forward(self, idx):
            t = idx.size(1)
            x = self.wte(idx) + self.wpe(torch.arange(0, t, dtype=torch.long).unsqueeze(0))
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    class SortDataset(Dataset):
        def __init__(self, split, length=6, num_digits=3):
            self.length = length
            self.num_digits = num_digits

        def get_vocab_size(self):
            return self.num_digits

        def get_block_size(self):
            return self.length * 2 - 1
"""
MINI_GPT_SCRIPT = """
    train_dataset = SortDataset('train')
    config = TinyGPT.get_default_config()
    config.model_type = 'small'
    config.vocab_size = train_dataset.get_vocab_size()
    config.block_size = train_dataset.get_block_size()
    model = TinyGPT(config)
"""


def test_config_node_from_a_static_method_a_dataset_and_later_assignments(write, tmp_path):
    write("demo.py", MINI_GPT + MINI_GPT_SCRIPT)
    estimate = estimates(tmp_path)["TinyGPT"]
    build = "TinyGPT(CfgNode(model_type='small', vocab_size=3, block_size=11))"
    assert estimate.input is not None and estimate.input.shape == (11,) and estimate.input.integer
    assert (estimate.params, estimate.macs) == torch_counts(MINI_GPT, build, (1, 11), integer=True)
    assert estimate.arguments == {"#0": {"__class__": "demo.py:CfgNode",
                                         "kwargs": {"model_type": "small", "vocab_size": 3, "block_size": 11}}}


PATCHES = """
    import torch
    import torch.nn as nn
    from einops import rearrange, repeat
    from einops.layers.torch import Rearrange

    class PatchViT(nn.Module):
        def __init__(self, image=32, patch=8, dim=48, heads=4, classes=10):
            super().__init__()
            self.to_patches = nn.Sequential(
                Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=patch, p2=patch),
                nn.LayerNorm(3 * patch * patch),
                nn.Linear(3 * patch * patch, dim),
            )
            self.cls = nn.Parameter(torch.randn(1, 1, dim))
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim, bias=False)
            self.out = nn.Linear(dim, classes)

        def forward(self, img):
            x = self.to_patches(img)
            b = x.shape[0]
            x = torch.cat((repeat(self.cls, '1 1 d -> b 1 d', b=b), x), dim=1)
            q, k, v = map(lambda t: rearrange(t, 'b n (h d) -> b h n d', h=self.heads), self.qkv(x).chunk(3, dim=-1))
            attn = (q @ k.transpose(-1, -2)).softmax(dim=-1)
            x = rearrange(attn @ v, 'b h n d -> b n (h d)')
            return self.out(x[:, 0])
"""


def test_einops_patchify_and_heads(write, tmp_path):
    pytest.importorskip("einops")
    write("vit.py", textwrap.dedent(PATCHES) + "model = PatchViT()\nlogits = model(torch.randn(1, 3, 32, 32))\n")
    estimate = estimates(tmp_path)["PatchViT"]
    assert (estimate.params, estimate.macs) == torch_counts(PATCHES, "PatchViT()", (1, 3, 32, 32))


def test_einops_shapes_without_torch(write, tmp_path):
    from greenlint.analyzer.cost.einops_ops import transform
    from greenlint.analyzer.cost.values import Tensor

    assert transform(Tensor((2, 3, 32, 64)), "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", {"p1": 8, "p2": 16}).shape == (2, 16, 384)
    assert transform(Tensor((1, 1, 48)), "1 1 d -> b 1 d", {"b": 5}).shape == (5, 1, 48)
    assert transform(Tensor((2, 7, 5, 4)), "b ... d -> b d ...", {}).shape == (2, 4, 7, 5)


def test_torchvision_trunks_add_up_to_the_published_counts():
    from greenlint.analyzer.cost.interpreter import param_count
    from greenlint.analyzer.cost.published import lookup
    from greenlint.analyzer.cost.vision_parts import RESNETS, VGG_LAYOUTS, whole

    names = [*RESNETS, *VGG_LAYOUTS, *(f"{n}_bn" for n in ("vgg16", "vgg19"))]
    for name in names:
        row = lookup(name)
        assert row is not None and param_count(whole(name, 1000)) == row["params"], name


def test_frozen_vgg_slices_for_a_perceptual_loss(write, tmp_path):
    write("loss.py", """
        import torch
        from torchvision import models

        class Features(torch.nn.Module):
            def __init__(self):
                super().__init__()
                trunk = models.vgg16(weights=None).features
                self.slice1 = torch.nn.Sequential()
                self.slice2 = torch.nn.Sequential()
                for x in range(4):
                    self.slice1.add_module(str(x), trunk[x])
                for x in range(4, 9):
                    self.slice2.add_module(str(x), trunk[x])
                for param in self.parameters():
                    param.requires_grad = False

            def forward(self, x):
                h = self.slice1(x)
                return self.slice2(h)

        features = Features()
        out = features(torch.zeros(1, 3, 64, 64))
    """)
    estimate = estimates(tmp_path)["Features"]
    convs = [(3, 64), (64, 64), (64, 128), (128, 128)]
    assert estimate.params == sum(o * i * 9 + o for i, o in convs)
    conv_macs = 64 * 64 * (64 * 3 * 9 + 64 * 64 * 9) + 32 * 32 * (128 * 64 * 9 + 128 * 128 * 9)
    assert estimate.macs == conv_macs


def test_a_resnet_with_a_new_stem_and_no_head_inside_a_siamese_model(write, tmp_path):
    write("siamese.py", """
        import torch
        import torch.nn as nn
        import torchvision

        class Siamese(nn.Module):
            def __init__(self):
                super().__init__()
                self.resnet = torchvision.models.resnet18(weights=None)
                self.resnet.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
                self.fc_in_features = self.resnet.fc.in_features
                self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))
                self.fc = nn.Linear(self.fc_in_features * 2, 1)

            def once(self, x):
                out = self.resnet(x)
                return out.view(out.size()[0], -1)

            def forward(self, input1, input2):
                return self.fc(torch.cat((self.once(input1), self.once(input2)), 1))

        model = Siamese()
        model(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 28, 28))
    """)
    estimate = estimates(tmp_path)["Siamese"]
    published_resnet18 = 11_689_512
    assert estimate.params == published_resnet18 - 64 * 3 * 49 + 64 * 1 * 49 - (512 * 1000 + 1000) + (1024 + 1)
    assert any("2 inputs" in note for note in estimate.notes) and estimate.macs is not None


def test_token_classification_head_drops_the_pooler(write, tmp_path):
    from greenlint.analyzer.cost import transformer as tf
    from greenlint.analyzer.cost.published import lookup

    write("ner.py", """
        from transformers import AutoModelForTokenClassification, AutoModelForMaskedLM
        model = AutoModelForTokenClassification.from_pretrained("bert-base-cased", num_labels=9)
        other = AutoModelForMaskedLM.from_pretrained("bert-base-cased")
    """)
    found = estimates(tmp_path)
    row = lookup("bert-base-cased")
    assert row is not None
    h = row["hidden"]
    assert found["bert-base-cased"].params == row["published_params"] - (h * h + h) + (h * 9 + 9)
    assert tf.head_of("AutoModelForMaskedLM") is None and "AutoModelForMaskedLM" not in found


def test_label_count_from_id2label_or_said_to_be_unknown(write, tmp_path):
    from greenlint.analyzer.cost.published import lookup

    write("ner.py", """
        from transformers import AutoModelForTokenClassification
        labels = load_labels()
        named = AutoModelForTokenClassification.from_pretrained("bert-base-uncased", id2label={0: "O", 1: "B-PER", 2: "I-PER"})
    """)
    write("guess.py", """
        from transformers import AutoModelForTokenClassification
        from data import label_names
        model = AutoModelForTokenClassification.from_pretrained("distilbert-base-uncased", num_labels=len(label_names))
    """)
    found = estimates(tmp_path)
    bert, distil = lookup("bert-base-uncased"), lookup("distilbert-base-uncased")
    assert bert is not None and distil is not None
    assert found["bert-base-uncased"].params == bert["published_params"] - (768 * 768 + 768) + 768 * 3 + 3
    guessed = found["distilbert-base-uncased"]
    assert guessed.params == distil["published_params"] + 768 * 2 + 2
    assert any(note.startswith("num_labels is unknown") for note in guessed.notes)


def test_a_float_layer_size_is_reported_not_counted(write, tmp_path):
    write("net.py", """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, out_planes=200):
                super().__init__()
                self.conv = nn.Conv2d(24, out_planes / 4, 1)

            def forward(self, x):
                return self.conv(x)

        net = Net()
    """)
    estimate = estimates(tmp_path)["Net"]
    assert estimate.params is None and "float" in estimate.params_reason


def test_synthetic_data_does_not_stand_in_for_the_real_set_size(write, tmp_path):
    write("train.py", """
        import argparse
        import torch.nn as nn
        from torchvision import datasets, transforms

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3 * 32 * 32, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))

        parser = argparse.ArgumentParser()
        parser.add_argument("--dummy", action="store_true")
        parser.add_argument("--epochs", type=int, default=90)
        args = parser.parse_args()
        if args.dummy:
            train = datasets.FakeData(1000, (3, 32, 32), 10, transforms.ToTensor())
        else:
            train = datasets.ImageFolder("data/train", transforms.Compose([transforms.CenterCrop(32), transforms.ToTensor()]))
        model = Net()
    """)
    plan = estimates(tmp_path)["Net"].training
    assert plan is not None and plan.epochs == 90 and plan.samples_per_epoch is None and plan.total_samples is None
    assert plan.unknown and plan.unknown[0].startswith("samples per epoch: ImageFolder at train.py:")


def test_training_is_read_from_the_training_script_when_another_script_builds_the_model(write, tmp_path):
    write("model.py", """
        from dataclasses import dataclass
        import torch.nn as nn

        @dataclass
        class Config:
            vocab_size: int = 100
            n_embd: int = 16

        class LM(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.embed = nn.Embedding(config.vocab_size, config.n_embd)
                self.head = nn.Linear(config.n_embd, config.vocab_size)
                self.block_size = 32

            def forward(self, idx):
                return self.head(self.embed(idx))
    """)
    write("train.py", """
        import pickle
        import torch
        from model import Config, LM

        max_iters = 1000
        batch_size = 8
        meta = pickle.load(open("meta.pkl", "rb"))
        model = LM(Config(vocab_size=meta["vocab_size"]))
    """)
    write("bench.py", """
        import torch
        from model import Config, LM
        model = LM(Config())
    """)
    estimate = estimates(tmp_path)["LM"]
    assert estimate.params == 100 * 16 + 16 * 100 + 100 and estimate.built_at == "bench.py:3"
    assert any(note.startswith("train.py:8 builds it with arguments the source does not fix") for note in estimate.notes)
    assert estimate.training is not None and estimate.training.total_samples == 8000


HELPERS = """
    import torch.nn as nn

    class AE(nn.Module):
        def __init__(self, width, latent_dim, act=nn.ReLU):
            super().__init__()
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, width), act(), nn.Linear(width, latent_dim))
            self.decoder = nn.Linear(latent_dim, 784)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    model_dict = {}
    model_dict["ae"] = AE

    def create_model(model_name, model_hparams):
        if model_name in model_dict:
            return model_dict[model_name](**model_hparams)
        assert False, f"unknown model {model_name}"
"""


def test_helpers_called_from_a_notebook_loop_and_a_model_registry(write, tmp_path):
    write("notebook.py", HELPERS + """
    from torchvision import datasets

    class Lit(nn.Module):
        def __init__(self, model_name, model_hparams):
            super().__init__()
            self.model = create_model(model_name, model_hparams)

        def forward(self, x):
            return self.model(x)

    def train_model(model_name, **kwargs):
        model = Lit(model_name=model_name, **kwargs)
        return model

    data = datasets.MNIST("data", train=True)
    for latent_dim in [16, 32]:
        train_model("ae", model_hparams={"width": 64, "latent_dim": latent_dim})
    """)
    estimate = estimates(tmp_path)["Lit"]
    params, macs = torch_counts(HELPERS, "create_model('ae', {'width': 64, 'latent_dim': 16})", (1, 1, 28, 28))
    assert (estimate.params, estimate.macs) == (params, macs)
    assert any("takes 2 values in the loop" in note for note in estimate.notes)


def test_a_model_defined_but_built_nowhere_is_tried_on_the_projects_data(write, tmp_path):
    write("models/lenet.py", """
        import torch.nn as nn
        import torch.nn.functional as F

        class LeNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 6, 5)
                self.fc1 = nn.Linear(6 * 14 * 14, 10)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.conv1(x)), 2)
                return self.fc1(x.view(x.size(0), -1))
    """)
    write("main.py", """
        import torchvision
        trainset = torchvision.datasets.CIFAR10(root="./data", train=True, download=True)
    """)
    estimate = estimates(tmp_path)["LeNet"]
    assert estimate.input is not None and "the project's data" in estimate.input.source
    assert estimate.macs == 28 * 28 * 6 * 3 * 25 + 6 * 14 * 14 * 10


def test_namedtuple_flags_and_keyword_only_building_blocks(write, tmp_path):
    write("attend.py", """
        from collections import namedtuple
        import torch.nn as nn

        Flags = namedtuple("Flags", ["flash", "math"])

        class Attend(nn.Module):
            def __init__(self, dim=8):
                super().__init__()
                self.config = Flags(True, False)
                flash, _ = self.config
                self.proj = nn.Linear(dim, dim, bias=not flash)

            def forward(self, x):
                return self.proj(x)

        class Block(nn.Module):
            def __init__(self, *, dim, depth):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])

            def forward(self, x):
                return x

        attend = Attend()
    """)
    found = estimates(tmp_path)
    assert found["Attend"].params == 8 * 8 and "Block" not in found


def test_a_fine_tuning_script_that_swaps_the_stem_is_counted_layer_by_layer(write, tmp_path):
    write("finetune.py", """
        import torch.nn as nn
        import torchvision
        from torchvision import datasets

        data = datasets.CIFAR10("data", train=True)
        model = torchvision.models.resnet18(num_classes=10)
        model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    """)
    estimate = estimates(tmp_path)["resnet18"]
    assert estimate.params == 11_689_512 - (512 * 1000 + 1000) + (512 * 10 + 10) - 64 * 3 * 49 + 64 * 3 * 9
    assert any("layer by layer" in note for note in estimate.notes)
    assert not any(note.startswith("published figures") for note in estimate.notes)
    assert estimate.input is not None and estimate.input.shape == (3, 32, 32) and estimate.macs is not None


def test_indexing_past_the_layers_the_estimate_could_build_is_unknown_not_a_crash(write, tmp_path):
    write("darknet.py", """
        import torch.nn as nn


        def parse_cfg(path):
            with open(path) as handle:
                return [line.strip() for line in handle if line.startswith("[")]


        class Darknet(nn.Module):
            def __init__(self, cfgfile):
                super().__init__()
                self.blocks = parse_cfg(cfgfile)
                self.models = nn.ModuleList()
                for block in self.blocks:
                    self.models.append(nn.Conv2d(3, 3, 3, padding=1))
                self.loss = self.models[len(self.models) - 1]

            def forward(self, x):
                for module in self.models:
                    x = module(x)
                return x

        net = Darknet("yolov4.cfg")
    """)
    estimate = estimates(tmp_path)["Darknet"]
    assert estimate.params is None and estimate.params_reason



def test_an_example_input_sized_by_an_unset_command_line_option_is_skipped_not_a_crash(write, tmp_path):
    write("darknet2onnx.py", """
        import torch
        import torch.nn as nn


        def parse_cfg(path):
            with open(path) as handle:
                return [dict(item.split("=") for item in line.split()) for line in handle]


        class Darknet(nn.Module):
            def __init__(self, cfgfile):
                super().__init__()
                self.blocks = parse_cfg(cfgfile)
                self.width = int(self.blocks[0]["width"])
                self.height = int(self.blocks[0]["height"])
                self.head = nn.Conv2d(3, 8, 3, padding=1)

            def forward(self, x):
                return self.head(x)


        def transform_to_onnx(cfgfile, batch_size=1):
            model = Darknet(cfgfile)
            x = torch.randn((batch_size, 3, model.height, model.width), requires_grad=True)
            torch.onnx.export(model, x, "yolov4.onnx")


        if __name__ == "__main__":
            from argparse import ArgumentParser
            parser = ArgumentParser()
            parser.add_argument("config")
            parser.add_argument("--batch_size", type=int, help="static batch size; 0 or less for dynamic")
            args = parser.parse_args()
            transform_to_onnx(args.config, args.batch_size)
    """)
    estimate = estimates(tmp_path)["Darknet"]
    assert estimate.params is None and "Darknet.height is unknown" in estimate.params_reason


def test_a_constructor_doing_arithmetic_on_a_value_the_estimate_cannot_read_is_unknown_not_a_crash(write, tmp_path):
    write("ddpm.py", """
        import math

        import torch
        import torch.nn as nn
        from absl import app, flags

        FLAGS = flags.FLAGS
        flags.DEFINE_integer("ch", 128, help="base channel of the UNet")
        flags.DEFINE_integer("T", 1000, help="total diffusion steps")


        class TimeEmbedding(nn.Module):
            def __init__(self, T, d_model, dim):
                super().__init__()
                emb = torch.exp(-torch.arange(0, d_model, step=2) / d_model * math.log(10000))
                emb = torch.arange(T).float()[:, None] * emb[None, :]
                emb = torch.stack([torch.sin(emb), torch.cos(emb)], dim=-1).view(T, d_model)
                self.embedding = nn.Sequential(nn.Embedding.from_pretrained(emb), nn.Linear(d_model, dim))

            def forward(self, t):
                return self.embedding(t)


        class UNet(nn.Module):
            def __init__(self, T, ch):
                super().__init__()
                self.time = TimeEmbedding(T, ch, ch * 4)
                self.head = nn.Conv2d(3, ch, 3, padding=1)

            def forward(self, x, t):
                return self.head(x) + self.time(t)[:, :, None, None]


        def main(argv):
            model = UNet(T=FLAGS.T, ch=FLAGS.ch)
            torch.save(model.state_dict(), "ddpm.pt")


        if __name__ == "__main__":
            app.run(main)
    """)
    estimate = estimates(tmp_path)["UNet"]
    assert estimate.params is None and "FLAGS.ch" in estimate.params_reason  # the flag it could not read, named
