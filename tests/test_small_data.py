"""Hub ids that state their own size: curated sets named ``dpo-mix-7k`` are small, sets
named ``ultrachat_200k`` are not, and a name without one size in it says nothing."""

from __future__ import annotations

import pytest

from greenlint.analyzer.small_data import parameters_in_name, size_in_name


@pytest.mark.parametrize(("name", "size"), [
    ("argilla/dpo-mix-7k", 7_000),
    ("HuggingFaceH4/deita-10k-v0-sft", 10_000),
    ("HuggingFaceH4/ultrachat_200k", 200_000),
    ("acme/tiny-stories-2.5M", 2_500_000),
    ("NeelNanda/pile-10k", 10_000),
])
def test_a_size_tag_in_the_hub_id_is_read(name: str, size: int) -> None:
    assert size_in_name(name) == size


@pytest.mark.parametrize("name", [
    "HuggingFaceH4/ultrafeedback_binarized",  # no tag
    "meta-llama/Llama-2-7b-hf",  # a model's size in parameters, not examples
    "acme/mix-7k-plus-50k",  # two tags: which one the run uses is not said
    "openai/gsm8k",  # a name, not a size
    "acme/v1.5k-audio",  # a version number before the k
])
def test_a_name_without_one_size_tag_says_nothing(name: str) -> None:
    assert size_in_name(name) is None


@pytest.mark.parametrize(("name", "params"), [
    ("meta-llama/Llama-2-7b-hf", 7e9),
    ("mistral-community/Mixtral-8x22B-v0.1", 8 * 22e9),
    ("HuggingFaceTB/SmolLM2-360M-Instruct", 360e6),
    ("google/gemma-2b", 2e9),
])
def test_a_parameter_tag_in_a_model_id_is_read(name: str, params: float) -> None:
    assert parameters_in_name(name) == params


def test_a_model_id_without_a_parameter_tag_says_nothing() -> None:
    assert parameters_in_name("HuggingFaceH4/zephyr-beta") is None
    assert parameters_in_name("openai/whisper-large-v3") is None
