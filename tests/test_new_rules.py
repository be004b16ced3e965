"""Edge cases of GL101, GL203, GL204, GL403 and GL504 that the fixture projects do not pin down."""

from __future__ import annotations

import pickle

from greenlint.analyzer.facts import Call, FileFacts, Loop
from greenlint.rules import all_rules
from greenlint.selection import rule_named

from conftest import Write, check


def run(tmp_path, name: str):
    rule = rule_named(all_rules(), name)
    result = check(tmp_path, rules=(rule,))
    assert not result.diagnostics
    return list(result.findings)


def test_softmax_through_a_named_partition(write: Write, tmp_path) -> None:
    write("heads.py", """
        import torch
        from torch import nn

        class SoftmaxRegression(nn.Module):
            def __init__(self, n_in, n_out):
                super().__init__()
                self.linear = nn.Linear(n_in, n_out)

            def forward(self, x):
                logits_exp = self.linear(x).exp()
                partition = logits_exp.sum(dim=1, keepdim=True)
                return logits_exp / partition
    """)
    findings = run(tmp_path, "reimplemented-builtin")
    assert [(f.line, "softmax" in f.message) for f in findings] == [(12, True)]


def test_attention_returning_its_weights_is_left_alone(write: Write, tmp_path) -> None:
    write("attention.py", """
        import math
        import torch
        import torch.nn.functional as F

        def scaled_dot_product(q, k, v, mask=None):
            logits = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
            if mask is not None:
                logits = logits.masked_fill(mask == 0, -9e15)
            attention = F.softmax(logits, dim=-1)
            values = torch.matmul(attention, v)
            return values, attention
    """)
    assert run(tmp_path, "reimplemented-builtin") == []


def test_softmax_axis_is_read_against_the_rank_of_the_scores(write: Write, tmp_path) -> None:
    """A non-negative softmax axis is the key axis only when it is the last axis of the scores."""
    write("attention.py", """
        import torch
        from torch import nn

        class BatchedAttention(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.softmax = nn.Softmax(dim=2)
                self.temperature = dim ** 0.5

            def forward(self, q, k, v):
                attn = torch.bmm(q, k.transpose(1, 2)) / self.temperature
                attn = self.softmax(attn)
                return torch.bmm(attn, v)

        def heads_last_axis(q, k, v, scale):
            scores = torch.matmul(q, k.transpose(2, 3)) * scale
            return torch.matmul(torch.softmax(scores, dim=3), v)

        def heads_query_axis(q, k, v, scale):
            scores = torch.matmul(q, k.transpose(2, 3)) * scale
            return torch.matmul(torch.softmax(scores, dim=2), v)
    """)
    findings = run(tmp_path, "reimplemented-builtin")
    assert [f.line for f in findings] == [11, 16]


def test_default_key_softmax_found_past_an_optional_query_softmax(write: Write, tmp_path) -> None:
    """An option that normalises over queries does not hide the default attention after it."""
    write("latents.py", """
        from torch import einsum, nn

        class CrossAttention(nn.Module):
            def __init__(self, dim, inverted=False):
                super().__init__()
                self.inverted = inverted
                self.scale = dim ** -0.5
                self.dropout = nn.Dropout(0.1)

            def forward(self, q, k, v):
                sim = einsum("b i d, b j d -> b i j", q, k) * self.scale
                if self.inverted:
                    attn = sim.softmax(dim=-2)
                    attn = attn / attn.sum(dim=-1, keepdim=True)
                else:
                    attn = sim.softmax(dim=-1)
                attn = self.dropout(attn)
                return einsum("b i j, b j d -> b i d", attn, v)
    """)
    findings = run(tmp_path, "reimplemented-builtin")
    assert [f.line for f in findings] == [11]


def test_model_double_in_a_chain_and_float64_outputs(write: Write, tmp_path) -> None:
    write("fit.py", """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 1)

            def forward(self, x):
                return self.fc(x)

        x = torch.randn(64, 8)
        model = Net()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(100):
            loss = model(x).double().pow(2).mean()
            loss.backward()
            optimizer.step()
        reference = Net().double()
    """)
    findings = run(tmp_path, "float64-compute")
    assert [f.line for f in findings] == [19]
    assert "Net(...).double()" in findings[0].message


def test_hand_written_gaussian_process_keeps_its_float64(write: Write, tmp_path) -> None:
    """A covariance factorised by Cholesky is numerics that float32 breaks, not a network to shrink."""
    write("gp.py", """
        import math
        import torch
        from torch import nn

        torch.set_default_dtype(torch.float64)

        class ExactGP(nn.Module):
            def __init__(self, x, y):
                super().__init__()
                self.x, self.y = x, y
                self.log_lengthscale = nn.Parameter(torch.zeros(()))
                self.log_noise = nn.Parameter(torch.tensor(-2.0))

            def forward(self):
                d2 = torch.cdist(self.x, self.x).pow(2)
                k = torch.exp(-0.5 * d2 / self.log_lengthscale.exp() ** 2)
                chol = torch.linalg.cholesky(k + self.log_noise.exp() * torch.eye(len(self.x)))
                alpha = torch.cholesky_solve(self.y[:, None], chol)
                return 0.5 * (self.y[:, None] * alpha).sum() + chol.diagonal().log().sum() + 0.5 * len(self.x) * math.log(2 * math.pi)

        x = torch.rand(500, 3)
        gp = ExactGP(x, torch.sin(x.sum(-1)))
        optimizer = torch.optim.Adam(gp.parameters(), lr=0.05)
        for step in range(300):
            optimizer.zero_grad()
            loss = gp()
            loss.backward()
            optimizer.step()
    """)
    assert run(tmp_path, "float64-compute") == []


def test_keras_3_global_float64_and_lightning_fabric(write: Write, tmp_path) -> None:
    write("train_keras.py", """
        import keras

        keras.config.set_floatx("float64")
        model = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(keras.random.normal((256, 8)), keras.random.normal((256, 1)), epochs=20)
    """)
    write("train_fabric.py", """
        import torch
        from lightning.fabric import Fabric

        fabric = Fabric(accelerator="cuda", precision="64-true")
        model, optimizer = fabric.setup(torch.nn.Linear(32, 1), torch.optim.SGD)
    """)
    write("numerics.py", """
        import keras

        keras.config.set_floatx("float32")
    """)
    findings = run(tmp_path, "float64-compute")
    assert sorted((f.path, f.line) for f in findings) == [("train_fabric.py", 4), ("train_keras.py", 3)]


def test_keras_epochs_from_a_parameter_and_hf_without_evaluation(write: Write, tmp_path) -> None:
    write("keras_helpers.py", """
        from tensorflow import keras

        def train(model, x, y, epochs):
            return model.fit(x, y, validation_split=0.2, epochs=epochs)
    """)
    write("hf.py", """
        from transformers import Trainer, TrainingArguments

        args = TrainingArguments("out", num_train_epochs=40, save_strategy="no")
        Trainer(model=None, args=args).train()
    """)
    assert run(tmp_path, "no-early-stopping") == []


def test_hf_training_arguments_yaml_with_evaluation(write: Write, tmp_path) -> None:
    write("train_args.yaml", """
        output_dir: out/summarizer
        num_train_epochs: 15
        eval_strategy: epoch
        learning_rate: 0.0001
    """)
    write("train.py", """
        from transformers import HfArgumentParser, Trainer, TrainingArguments

        (args,) = HfArgumentParser(TrainingArguments).parse_yaml_file("train_args.yaml")
        Trainer(model=None, args=args).train()
    """)
    findings = run(tmp_path, "no-early-stopping")
    assert [(f.path, f.line) for f in findings] == [("train_args.yaml", 2)]


def test_helper_reads_that_are_cached_or_per_item_are_left_alone(write: Write, tmp_path) -> None:
    write("store.py", """
        import numpy as np
        from PIL import Image

        _TABLE = None

        def table():
            global _TABLE
            if _TABLE is None:
                _TABLE = np.load("data/table.npy")
            return _TABLE

        def load_image(path):
            return np.asarray(Image.open(path))
    """)
    write("train.py", """
        import torch
        from store import load_image, table

        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        paths = ["a.png", "b.png"]
        for epoch in range(10):
            for path in paths:
                image = torch.as_tensor(load_image(path)).float()
                loss = model(image[:4] * torch.as_tensor(table())[:4]).sum()
                loss.backward()
                opt.step()
    """)
    assert run(tmp_path, "data-reload-in-loop") == []


def test_whole_set_read_in_a_loop_of_its_own(write: Write, tmp_path) -> None:
    write("train.py", """
        import cv2
        import torch

        files = [f"data/{i}.png" for i in range(1000)]
        model = torch.nn.Linear(64, 2)
        opt = torch.optim.Adam(model.parameters())
        for epoch in range(20):
            images = []
            for name in files:
                images.append(cv2.imread(name, 0))
            batch = torch.tensor(images).float().flatten(1)[:, :64]
            loss = model(batch).logsumexp(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    """)
    findings = run(tmp_path, "data-reload-in-loop")
    assert [f.line for f in findings] == [10]
    assert "over files" in findings[0].message and "whole set" in findings[0].message


def test_which_loops_around_a_training_call_are_epoch_loops(write: Write, tmp_path) -> None:
    """Keras fit in a loop trains on; a repeat of a whole run and a scikit-learn refit do not."""
    write("keras_chunks.py", """
        import numpy as np
        from tensorflow import keras

        autoencoder = keras.models.load_model("models/ae.keras")
        for chunk in range(40):
            frames = np.load("data/frames.npy")
            autoencoder.fit(frames, frames, epochs=5, batch_size=64)
            autoencoder.save(f"models/ae_{chunk}.keras")
    """)
    write("repeats.py", """
        import numpy as np
        import torch

        def train(steps=10_000):
            model = torch.nn.Linear(16, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            data = torch.randn(4096, 17)
            for it in range(steps):
                batch = data[torch.randint(len(data), (64,))]
                loss = (model(batch[:, :16]).squeeze(-1) - batch[:, 16]).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            return loss.item()

        results = []
        for i in range(5):
            baseline = np.load("data/baseline.npy")
            results.append(train() - baseline.mean())
    """)
    write("sklearn_models.py", """
        import pandas as pd
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from tensorflow import keras

        candidates = [LogisticRegression(max_iter=1000), RandomForestClassifier(n_estimators=300)]
        for clf in candidates:
            frame = pd.read_csv("data/train.csv")
            clf.fit(frame.drop(columns="y"), frame["y"])
    """)
    findings = run(tmp_path, "data-reload-in-loop")
    assert [(f.path, f.line) for f in findings] == [("keras_chunks.py", 6)]


def test_streaming_dataset_restarted_each_epoch_is_not_a_reload(write: Write, tmp_path) -> None:
    write("pretrain.py", """
        import torch
        from datasets import load_dataset
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained("gpt2").cuda()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        for epoch in range(3):
            stream = load_dataset("allenai/c4", "en", split="train", streaming=True).shuffle(seed=epoch)
            eval_rows = load_dataset("allenai/c4", "en", split="validation[:1%]")
            for row in stream.take(10_000):
                ids = torch.tensor(row["input_ids"][:512], device="cuda")[None]
                loss = model(ids, labels=ids).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
    """)
    findings = run(tmp_path, "data-reload-in-loop")
    assert [f.line for f in findings] == [9]


def test_facts_cached_before_operations_existed_still_read() -> None:
    """A pickle without the newer fields falls back to their defaults instead of failing."""
    facts = FileFacts(path="a.py", module="a", kind="python")
    facts.calls.append(Call("f", (), "", None, (), ()))
    facts.loops.append(Loop(0, "for", "", None, ("i",), None))
    for fact, name in ((facts, "operations"), (facts.calls[0], "conditions"), (facts.loops[0], "iter_shape")):
        del fact.__dict__[name]
    restored = pickle.loads(pickle.dumps(facts))
    assert restored.operations == () and restored.calls[0].conditions == () and restored.loops[0].iter_shape == ""


def test_exports_are_low_confidence_entry_point_or_helper(write: Write, tmp_path) -> None:
    write("vision/export.py", """
        import torch


        def export_onnx(model, output_file, input_size=(3, 224, 224), opset=17):
            model.eval()
            example = torch.randn(1, *input_size)
            torch.onnx.export(model, example, output_file, input_names=["image"], opset_version=opset)
    """)
    write("export_detector.py", """
        import torch
        from torchvision.models.detection import fasterrcnn_resnet50_fpn

        if __name__ == "__main__":
            detector = fasterrcnn_resnet50_fpn(num_classes=4)
            detector.load_state_dict(torch.load("checkpoints/detector.pt", map_location="cpu"))
            torch.onnx.export(detector.eval(), [torch.randn(3, 800, 800)], "detector.onnx", opset_version=17)
    """)
    findings = {f.path: f.confidence.value for f in run(tmp_path, "no-quantization")}
    assert findings == {"vision/export.py": "low", "export_detector.py": "low"}  # how much it serves, the code does not show


RETRIEVER_TRAINING = """
    import functools
    import json

    import torch
    from torch.utils.data import DataLoader, Dataset, RandomSampler
    from transformers import AutoModel, AutoTokenizer

    class QuestionAnswerPairs(Dataset):
        def __init__(self, path):
            with open(path) as handle:
                self.pairs = [json.loads(line) for line in handle]

        def __len__(self):
            return len(self.pairs)

        def __getitem__(self, i):
            return self.pairs[i]["question"], self.pairs[i]["answer"]

    def make_batch(pairs, tokenizer, max_len=64, device="cuda:0"):
        questions = tokenizer([q for q, _ in pairs], max_length=max_len, padding="max_length", truncation=True)
        answers = tokenizer([a for _, a in pairs], max_length=max_len, padding="max_length", truncation=True)
        return (torch.LongTensor(questions["input_ids"]).to(device), torch.LongTensor(answers["input_ids"]).to(device))

    tokenizer = AutoTokenizer.from_pretrained("google/bert_uncased_L-8_H-512_A-8")
    encoder = AutoModel.from_pretrained("google/bert_uncased_L-8_H-512_A-8").to("cuda:0")
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=2e-4)
    pairs = QuestionAnswerPairs("eli5_train.jsonl")
    collate = functools.partial(make_batch, tokenizer=tokenizer, max_len=128, device="cuda:0")
    loader = DataLoader(pairs, batch_size=512, sampler=RandomSampler(pairs), collate_fn=collate)
    for epoch in range(10):
        for questions, answers in loader:
            scores = encoder(questions).pooler_output @ encoder(answers).pooler_output.t()
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(scores), device="cuda:0"))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        torch.save(encoder.state_dict(), f"retriever_{epoch}.pth")
"""


def test_a_collate_function_that_moves_batches_to_the_gpu_is_told_to_leave_that_to_the_loop(write: Write, tmp_path) -> None:
    write("train_retriever.py", RETRIEVER_TRAINING)
    [finding] = run(tmp_path, "dataloader-no-workers")
    assert "its collate_fn moves each batch to the GPU, which worker processes cannot do" in finding.message
    assert finding.fix.startswith("move the device copy out of make_batch() into the training loop, then pass num_workers")


def test_a_collate_function_that_leaves_batches_on_the_cpu_is_told_to_use_workers(write: Write, tmp_path) -> None:
    write("train_retriever.py", RETRIEVER_TRAINING.replace(".to(device)", ""))
    [finding] = run(tmp_path, "dataloader-no-workers")
    assert "collate_fn" not in finding.message and finding.fix.startswith("pass num_workers")


DEEPSPEED_TRAIN = """
    import argparse
    import deepspeed
    import torch
    from transformers import AutoModelForCausalLM

    parser = argparse.ArgumentParser()
    parser.add_argument("--deepspeed_config", default="configs/ds_zero2.json")
    parser.add_argument("--local_rank", type=int, default=-1)
    args = parser.parse_args()

    model = AutoModelForCausalLM.from_pretrained("gpt2-large")
    engine, optimizer, loader, _ = deepspeed.initialize(args=args, model=model, model_parameters=model.parameters())
    for batch in loader:
        loss = engine(**batch).loss
        engine.backward(loss)
        engine.step()
"""
ZERO2_FP32 = '{\n  "train_micro_batch_size_per_gpu": 8,\n  "zero_optimization": {"stage": 2}\n}\n'
ZERO2_FP16 = '{\n  "train_micro_batch_size_per_gpu": 8,\n  "zero_optimization": {"stage": 2},\n  "fp16": {"enabled": true}\n}\n'


def test_deepspeed_config_in_fp32_is_reported_at_its_first_key(write: Write, tmp_path) -> None:
    write("train.py", DEEPSPEED_TRAIN)
    write("configs/ds_zero2.json", ZERO2_FP32)
    findings = run(tmp_path, "no-mixed-precision")
    assert [(f.path, f.line) for f in findings] == [("configs/ds_zero2.json", 2)]


def test_deepspeed_fp32_config_beside_its_fp16_variant_is_a_comparison(write: Write, tmp_path) -> None:
    # a folder of ZeRO-stage variants, each in fp32 and fp16, to compare their speed
    write("train.py", DEEPSPEED_TRAIN)
    write("configs/ds_zero2.json", ZERO2_FP32)
    write("configs/ds_zero2_fp16.json", ZERO2_FP16)
    write("other/ds_zero2.json", ZERO2_FP32)  # another folder's config has no half-precision variant
    findings = run(tmp_path, "no-mixed-precision")
    assert [(f.path, f.line) for f in findings] == [("other/ds_zero2.json", 2)]


GPT_BLOCK = """
    import torch
    from torch import nn


    class LayerNorm(nn.Module):
        def __init__(self, emb_dim):
            super().__init__()
            self.eps = 1e-5
            self.scale = nn.Parameter(torch.ones(emb_dim))
            self.shift = nn.Parameter(torch.zeros(emb_dim))

        def forward(self, x):
            mean = x.mean(dim=-1, keepdim=True)
            var = x.var(dim=-1, keepdim=True, unbiased=False)
            norm_x = (x - mean) / torch.sqrt(var + self.eps)
            return self.scale * norm_x + self.shift


    class FeedForward(nn.Module):
        def __init__(self, emb_dim):
            super().__init__()
            self.up = nn.Linear(emb_dim, 4 * emb_dim)
            self.down = nn.Linear(4 * emb_dim, emb_dim)
            self.norm = LayerNorm(emb_dim)

        def forward(self, x):
            return self.down(torch.relu(self.up(self.norm(x))))
"""


def test_hand_written_layer_norm_in_a_book_s_code_is_low_confidence(write: Write, tmp_path) -> None:
    """The companion code of a book writes layer normalisation out to teach it: the finding
    stays (it is true) but below the default view, and says why."""
    write("README.md", "# Build a Small Language Model (From Scratch)\n\nCode for the book's chapters.\n")
    write("gpt.py", GPT_BLOCK)
    [finding] = run(tmp_path, "reimplemented-builtin")
    assert finding.confidence.value == "low"
    assert "teaching code" in finding.message and "from scratch" in finding.message


def test_hand_written_layer_norm_in_a_research_model_is_no_teaching_code(write: Write, tmp_path) -> None:
    write("README.md", "# Sparse mixture of experts\n\nTraining code for our paper.\n\n"
                       + "More text. " * 60 + "\n\nA tutorial on tuning the router lives in docs/.\n")
    write("gpt.py", GPT_BLOCK)
    [finding] = run(tmp_path, "reimplemented-builtin")
    assert "teaching code" not in finding.message  # a tutorial deep in the README is its documentation


def test_a_model_trained_from_scratch_is_no_teaching_code(write: Write, tmp_path) -> None:
    """ "From scratch" after "training" says how the model was trained (random weights on
    ImageNet), not that the code is written out to teach."""
    write("README.md", "# Token mixers: Training Vision Transformers from Scratch on ImageNet\n\n"
                       "Official implementation of our paper.\n")
    write("gpt.py", GPT_BLOCK)
    [finding] = run(tmp_path, "reimplemented-builtin")
    assert "teaching code" not in finding.message


def test_a_chapter_folder_marks_teaching_code_without_a_readme(write: Write, tmp_path) -> None:
    write("ch04/gpt.py", GPT_BLOCK)
    write("models/gpt.py", GPT_BLOCK)
    findings = {f.path: f.message for f in run(tmp_path, "reimplemented-builtin")}
    assert 'teaching code: its path says "ch04"' in findings["ch04/gpt.py"]
    assert "teaching code" not in findings["models/gpt.py"]


def test_editing_the_readme_opening_invalidates_cached_findings(write: Write, tmp_path) -> None:
    write("README.md", "# Sparse mixture of experts\n")
    write("gpt.py", GPT_BLOCK)
    rules = (rule_named(all_rules(), "reimplemented-builtin"),)
    [before] = check(tmp_path, rules=rules, use_cache=True).findings
    write("README.md", "# Sparse mixture of experts: lecture notes\n")
    [after] = check(tmp_path, rules=rules, use_cache=True).findings
    assert "teaching code" not in before.message and "teaching code" in after.message
