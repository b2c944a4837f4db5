"""The model the app serves offline: `assets/oz-lstm` loads, fits the size budget, and its card and
results report what the README says (test perplexity on the test book)."""

import json
import math
import re
from pathlib import Path

import pytest

import lm

FOLDER = Path(__file__).resolve().parent.parent / "assets" / "oz-lstm"


@pytest.fixture(scope="module")
def bundled():
    return lm.load_pretrained(FOLDER)


def test_folder_is_complete_and_at_most_25_mb():
    names = {p.name for p in FOLDER.iterdir()}
    assert {"model.safetensors", "config.json", "vocab.json", "README.md", "training_curve.png",
            "training_results.json"} <= names
    assert not any(n.endswith((".pt", ".bin", ".tmp")) for n in names)
    assert sum(p.stat().st_size for p in FOLDER.iterdir()) <= 25 * 1024 * 1024


def test_loads_and_generates(bundled):
    model, vocab = bundled
    assert len(vocab) == model.config.vocab_size == 7081  # min_freq 3 on the Oz train split
    g = lm.generate(model, vocab, "The Scarecrow said", max_new_tokens=30, temperature=0.8, seed=0, stop_at_eos=False)
    assert len(g.tokens) == 30 and "<unk>" not in g.tokens
    assert g.text.startswith("The Scarecrow said ")  # the prompt as typed


def test_card_and_results_report_the_test_perplexity():
    results = json.loads((FOLDER / "training_results.json").read_text())
    card = (FOLDER / "README.md").read_text()
    assert results["parameters"] == lm.load_pretrained(FOLDER)[0].num_parameters()
    assert results["train_config"]["model"]["tie_weights"] is True  # the improved (awd) recipe
    model, vocab = lm.load_pretrained(FOLDER)
    assert (vocab.shown("dorothy"), vocab.shown("oz"), vocab.shown("the")) == ("Dorothy", "Oz", "the")
    test_ppl = results["test_ppl"]
    assert 10 < test_ppl < 100 and math.isfinite(results["best_valid_ppl"])
    m = re.search(r"test perplexity \(best weights\) \| ([\d.]+) \|", card)
    assert m and float(m.group(1)) == pytest.approx(test_ppl, abs=0.01)
    assert "Glinda of Oz" in card
