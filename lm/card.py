"""What training leaves beside the weights: `training_results.json` (the facts), the training-curve
plot and README.md (a Hugging Face model card: `huggingface_hub.ModelCard`, eval results as metadata)."""

import json
import math
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .files import atomic_write

CURVE_NAME = "training_curve.png"
RESULTS_NAME = "training_results.json"

CARD_BODY = """
# Word-level LSTM language model

A word-level LSTM language model trained with `train.py` of the LSTM temperature playground on
**{dataset_name}**. It predicts the next word of `basic_english`-tokenized text (lower-cased; the
vocabulary keeps how the books print the words for display: each word's usual capitals, "said:"
before a quoted paragraph, "cried" after "Oh!", "Cap'n"); it is made for seeing, hands-on, how
sampling temperature changes generated text.

## Results

| metric | value |
|---|---|
| parameters | {parameters:,} |
| vocabulary | {vocab_size:,} words (min_freq {min_freq}, from the train split) |
| best validation perplexity | {valid} |
| test perplexity (best weights) | {test} |
| epochs run | {epochs_run} |
| wall time | {minutes:.1f} min |
| hardware | {hardware} |

Perplexity uses the reference notebook's evaluation: the split cut into {eval_batch_size} streams, read
{seq_len} tokens at a time with the LSTM state carried over. {tokens}

![training curve]({curve})

## Hyperparameters

| name | value |
|---|---|
{rows}

## Use

```python
import lm

model, vocab = lm.load_pretrained("{load_name}")
print(lm.generate(model, vocab, "the scarecrow said", temperature=0.8, seed=0).text)
```

## Intended use and limits

For teaching and play: it shows how temperature, top-k and top-p trade coherence for variety.
It is a small word-level model trained on a few books: it knows only their vocabulary (other words
become `<unk>`), loses the thread after a sentence or two, and repeats the style and the biases of
its source text. It is not for producing facts or text for publication.
"""


def _ppl(value) -> str:
    return f"{value:.2f}" if value is not None else "n/a"


def _flat(config: dict, prefix: str = "") -> list[tuple[str, object]]:
    """("model.emb_dim", 400)-style rows from a nested config."""
    rows = []
    for k, v in config.items():
        rows += _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]
    return rows


def model_card(results: dict, repo_id: str | None = None, folder: str = ".") -> ModelCard:
    """The card for a run's `results` (the content of training_results.json)."""
    cfg = results["train_config"]
    dataset = cfg["dataset"]
    is_hub_dataset = not Path(dataset).exists() and dataset.count("/") == 1
    name = repo_id or Path(folder).name
    evals = None
    if results.get("test_ppl") is not None:
        evals = [EvalResult(task_type="text-generation", dataset_type=dataset if is_hub_dataset else "text",
                            dataset_name=results["dataset_name"], dataset_split="test", metric_type="perplexity",
                            metric_value=round(results["test_ppl"], 2))]
    data = ModelCardData(language="en", license="mit", library_name="lm", pipeline_tag="text-generation",
                         tags=["lstm", "text-generation", "language-model", "pytorch"], model_name=name,
                         datasets=[dataset] if is_hub_dataset else None, eval_results=evals)
    tokens, shown = results.get("tokens"), results["dataset_name"]
    # A local folder is named by its own name: its path is the training machine's, meaningless elsewhere.
    rows = _flat({**cfg, "dataset": dataset if is_hub_dataset else f"{Path(dataset).name} (a local folder)"})
    body = CARD_BODY.format(
        dataset_name=results["dataset_name"] + (f" (`{dataset}`)" if is_hub_dataset and shown != dataset else ""),
        parameters=results["parameters"], vocab_size=results["vocab_size"], min_freq=cfg["min_freq"],
        valid=_ppl(results["best_valid_ppl"]), test=_ppl(results["test_ppl"]), minutes=results["minutes"],
        epochs_run=epochs_run(results["history"], cfg["epochs"]), hardware=results["hardware"],
        eval_batch_size=cfg.get("eval_batch_size") or cfg["batch_size"], seq_len=cfg["seq_len"], curve=CURVE_NAME,
        tokens=("Tokens per split: " + ", ".join(f"{k} {v:,}" for k, v in tokens.items()) + ".") if tokens else "",
        rows="\n".join(f"| `{k}` | {v} |" for k, v in rows), load_name=repo_id or folder)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def whole_epochs(history: list[dict]) -> list[dict]:
    """The epochs that ran to their end. A time budget can stop training a few steps into an epoch; that
    epoch's train loss is the mean of its first steps only (the start of the books; one batch, at worst), not
    of a pass, so the curves leave it off the train line. Its validation loss scores the weights, and stays."""
    return [h for h in history if not h.get("partial")]


def epochs_run(history: list[dict], epochs: int) -> str:
    """'14 of 30', and the steps of an epoch the time budget cut short, if the last one was."""
    text = f"{len(whole_epochs(history))} of {epochs}"
    if history and history[-1].get("partial"):
        last = history[-1]
        text += (f", then {last['steps']} step{'s' * (last['steps'] != 1)} of epoch {last['epoch']} before the "
                 "time budget ran out")
    return text


def curves_figure(history: list[dict]):
    """Train/valid perplexity (log scale) and learning rate per epoch (train: whole epochs)."""
    from matplotlib.figure import Figure  # not pyplot: no global state, no display

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(7, 5.5), layout="tight")
    ax, ax_lr = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    whole = whole_epochs(history)
    ax.plot([h["epoch"] for h in whole], [math.exp(h["train_loss"]) for h in whole], "o-", label="train")
    ax.plot(epochs, [math.exp(h["valid_loss"]) for h in history], "s-", label="validation")
    ax.set_yscale("log")
    ax.set_ylabel("perplexity")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax_lr.plot(epochs, [h["lr"] for h in history], "k.-")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("epoch")
    ax_lr.grid(True, alpha=0.3)
    return fig


def plot_curves(history: list[dict], path: str | Path) -> None:
    """`curves_figure` as a PNG."""
    fig = curves_figure(history)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))


def write_results(folder: str | Path, results: dict, repo_id: str | None = None) -> None:
    """Write training_results.json, the curve (if any epoch ran) and README.md into `folder`."""
    folder = Path(folder)
    atomic_write(folder / RESULTS_NAME, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    if results["history"]:
        plot_curves(results["history"], folder / CURVE_NAME)
    card = model_card(results, repo_id, str(folder))
    atomic_write(folder / "README.md", lambda tmp: card.save(tmp))
