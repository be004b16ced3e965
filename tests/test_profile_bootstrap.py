"""The in-program recorder's pure parts: reading the training length, surviving its own errors."""

from __future__ import annotations

from types import SimpleNamespace

from greenlint.profiling.bootstrap import Recorder, _total_steps_in


def test_total_steps_from_a_max_steps_local_or_config() -> None:
    assert _total_steps_in({"max_steps": 5000}, None) == {"steps": 5000, "source": "max_steps = 5000"}
    config = SimpleNamespace(max_iters=600000)
    assert _total_steps_in({"cfg": config}, 100) == {"steps": 600000, "source": "cfg.max_iters = 600000"}


def test_total_steps_from_epochs_times_batches_per_epoch() -> None:
    args = SimpleNamespace(epochs=90, lr=0.1)
    assert _total_steps_in({"args": args}, 500) == {
        "steps": 45000, "source": "args.epochs = 90 epochs x 500 batches per epoch"}
    assert _total_steps_in({"num_epochs": 3}, 10)["steps"] == 30
    assert _total_steps_in({"config": {"epochs": 4}}, 10)["steps"] == 40


def test_no_total_steps_without_a_loader_length_or_from_flags() -> None:
    assert _total_steps_in({"epochs": 90}, None) is None
    assert _total_steps_in({"epochs": True, "max_steps": 0, "args": SimpleNamespace()}, 10) is None
    assert _total_steps_in({"step": 12, "epoch": 3}, 10) is None  # counters of the current position


def test_an_internal_error_stops_recording_but_never_reaches_the_program() -> None:
    recorder = Recorder()
    assert recorder.on_autocast() is None  # a hook called wrongly: TypeError inside the recorder
    assert recorder.broken
    assert recorder.notes and recorder.notes[0].startswith("the recorder stopped after an internal error in on_autocast")
    assert recorder.on_autocast("cuda", "torch.bfloat16") is None
    assert recorder.autocast == {}  # nothing more is recorded
