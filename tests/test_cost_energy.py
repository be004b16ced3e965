"""Energy and CO2: the formula, every constant's source, and the overrides."""

from __future__ import annotations

import pytest

from greenlint.analyzer.cost.energy import AssumptionError, assumptions, energy, training_macs
from greenlint.analyzer.cost.tables import table


def test_energy_follows_the_documented_formula():
    chosen = assumptions({"device": "T4", "precision": "fp16", "utilisation": 0.5, "pue": 1.2, "region": "FRA"})
    macs = 4.089e9 * 3 * 1_281_167 * 90  # ResNet-50, ImageNet, 90 epochs (forward + backward)
    result = energy(macs, chosen, "vision")
    seconds = 2 * macs / (65e12 * 0.5)  # FLOPs = 2 x MACs; T4 FP16 peak 65 TFLOP/s
    expected_kwh = seconds * 70 / 3.6e6 * 1.2  # 70 W, PUE 1.2
    assert result.flops == pytest.approx(2 * macs)
    assert result.kwh == pytest.approx(expected_kwh)
    assert result.co2_kg == pytest.approx(expected_kwh * 56.0 / 1000)  # France, 56 g/kWh
    assert result.device_hours == pytest.approx(seconds / 3600)


def test_defaults_are_documented_and_language_models_use_their_utilisation():
    chosen = assumptions()
    assert chosen.device.name == "A100-SXM4" and chosen.precision == "fp32" and chosen.peak_flops() == 19.5e12
    assert chosen.pue == 1.56 and chosen.grid.g_per_kwh == 475
    assert chosen.utilisation_for("language-model") == 0.3 and chosen.utilisation_for("vision") == 0.4
    assert all(text for text in chosen.describe())
    assert assumptions(mixed_precision=True).precision == "bf16"
    assert assumptions({"device": "V100"}, mixed_precision=True).precision == "fp16"  # no bf16 on Volta


def test_command_line_wins_over_configuration():
    chosen = assumptions({"device": "H100", "pue": 1.1}, {"device": "RTX-4090", "carbon-intensity": 100.0, "utilization": 30})
    assert chosen.device.name == "RTX-4090" and chosen.pue == 1.1
    assert chosen.grid.g_per_kwh == 100.0 and chosen.utilisation == 0.3


def test_training_is_three_forward_passes():
    chosen = assumptions()
    assert training_macs(10, 1000, chosen) == 3 * 10 * 1000


@pytest.mark.parametrize(("config", "message"), [
    ({"devise": "A100"}, "did you mean 'device'"),
    ({"device": "A10O"}, "unknown device 'A10O'"),
    ({"region": "atlantis"}, "unknown region"),
    ({"pue": 0.5}, "pue must be between"),
    ({"utilisation": 0}, "utilisation must be between"),
    ({"precision": "int8"}, "precision must be one of"),
])
def test_mistakes_are_errors(config, message):
    with pytest.raises(AssumptionError, match=message):
        assumptions(config)


@pytest.mark.parametrize("name", ["devices", "grid", "assumptions", "datasets", "architectures"])
def test_every_table_row_has_a_source_and_a_year(name):
    for row in table(name):
        assert row["source"] and "year" in row, row
