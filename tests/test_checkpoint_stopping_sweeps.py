"""Edge cases of GL402 (Keras fits), GL204 and GL201 that the fixture projects do not pin down."""

from __future__ import annotations

import json
import textwrap

from greenlint.rules import all_rules
from greenlint.selection import rule_named

from conftest import Write, check


def run(tmp_path, name: str):
    rule = rule_named(all_rules(), name)
    result = check(tmp_path, rules=(rule,))
    assert not result.diagnostics
    return list(result.findings)


def notebook(*cells: str) -> str:
    """A minimal notebook whose code cells hold the given sources."""
    code = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
             "source": textwrap.dedent(cell).lstrip("\n")} for cell in cells]
    return json.dumps({"cells": code, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


KERAS_SETUP = """
    from tensorflow import keras
    train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(180, 180))
    model = keras.Sequential([keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""


def test_keras_epochs_reassigned_in_other_cells_are_not_guessed(write: Write, tmp_path) -> None:
    write("explore.ipynb", notebook(
        KERAS_SETUP,
        "epochs = 5\nmodel.fit(train_ds, epochs=epochs)\n",
        "epochs = 100\n",
        "model.fit(train_ds, epochs=epochs)\n",  # 5 or 100, depending on which cells ran
        "epochs = 60\nhistory = model.fit(train_ds, epochs=epochs)\n",
    ))
    findings = run(tmp_path, "missing-checkpoint")
    assert [(f.cell, f.line) for f in findings] == [(5, 2)]
    assert "for 60 epochs (epochs)" in findings[0].message


def test_keras_epochs_from_a_parameter_or_a_computation_are_left_alone(write: Write, tmp_path) -> None:
    write("retrain.py", KERAS_SETUP + """
    epochs = 200

    def fit_for(model, epochs):
        return model.fit(train_ds, epochs=epochs)

    def refit(model, best_epoch):
        return model.fit(train_ds, epochs=int(best_epoch * 1.2))
    """)
    assert run(tmp_path, "missing-checkpoint") == []


def test_keras_epochs_from_a_module_constant(write: Write, tmp_path) -> None:
    write("train.py", KERAS_SETUP + """
    EPOCHS = 45
    model.fit(train_ds, epochs=EPOCHS)
    """)
    findings = run(tmp_path, "missing-checkpoint")
    assert [f.line for f in findings] == [7]
    assert findings[0].message.startswith("Keras fit() for 45 epochs (EPOCHS) has no ModelCheckpoint")


def test_keras_fit_through_a_scikit_learn_search_is_left_alone(write: Write, tmp_path) -> None:
    write("search.py", """
        import pandas as pd
        from scikeras.wrappers import KerasRegressor
        from sklearn.model_selection import RandomizedSearchCV
        from tensorflow import keras

        frame = pd.read_csv("data/prices.csv")
        regressor = KerasRegressor(model=lambda: keras.Sequential([keras.layers.Dense(1)]))
        search = RandomizedSearchCV(regressor, {"model__units": [16, 32, 64]}, n_iter=3, cv=3)
        search.fit(frame.drop(columns="price"), frame["price"], epochs=100)
    """)
    assert run(tmp_path, "missing-checkpoint") == []
