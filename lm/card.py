"""The model folder's README.md (a Hugging Face model card) and its training-curve plot."""

import json
import math
import platform
from pathlib import Path

from ._io import atomic_write

CURVE_NAME = "training_curve.png"
HISTORY_NAME = "training_results.json"


def hardware() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    n = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"


def plot_curves(history: list[dict], path: str | Path) -> None:
    """Train/valid perplexity (log scale) and learning rate per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, height_ratios=[3, 1])
    ax.plot(epochs, [math.exp(h["train_loss"]) for h in history], "o-", label="train")
    ax.plot(epochs, [math.exp(h["valid_loss"]) for h in history], "s-", label="validation")
    ax.set_yscale("log")
    ax.set_ylabel("perplexity")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax_lr.plot(epochs, [h["lr"] for h in history], "k.-")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("epoch")
    ax_lr.grid(True, alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def write_model_card(folder: str | Path, *, train_config: dict, num_parameters: int, vocab_size: int,
                     history: list[dict], best_valid_loss: float, test_loss: float | None,
                     wall_seconds: float, hardware_name: str, dataset_tokens: dict | None = None,
                     repo_id: str | None = None, dataset_name: str | None = None) -> Path:
    """Write README.md (Hub metadata + body), training_results.json and the curve into `folder`.

    `dataset_name` is what people read (default: the dataset id or path the run was given)."""
    folder = Path(folder)
    dataset = train_config["dataset"]
    shown = dataset_name or dataset
    summary = {"dataset_name": shown, "parameters": num_parameters, "vocab_size": vocab_size, "epochs": len(history),
               "minutes": wall_seconds / 60, "hardware": hardware_name,
               "best_valid_ppl": math.exp(best_valid_loss) if math.isfinite(best_valid_loss) else None,
               "test_ppl": math.exp(test_loss) if test_loss is not None else None,
               "train_config": train_config, "history": history}
    atomic_write(folder / HISTORY_NAME, lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=1) + "\n"))
    if history:
        plot_curves(history, folder / CURVE_NAME)
    is_hub_dataset = not Path(dataset).exists() and dataset.count("/") == 1
    meta = ["---", "library_name: lm", "license: mit", "language:", "- en", "tags:", "- lstm",
            "- text-generation", "- language-model", "- pytorch"]
    if is_hub_dataset:
        meta += ["datasets:", f"- {dataset}"]
    meta += ["pipeline_tag: text-generation", "---", ""]
    ppl = lambda loss: f"{math.exp(loss):.2f}" if loss is not None and math.isfinite(loss) else "n/a"
    epochs_run = len(history)
    load_name = repo_id or str(folder)
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in train_config.items())
    tokens = ""
    if dataset_tokens:
        tokens = "Tokens per split: " + ", ".join(f"{k} {v:,}" for k, v in dataset_tokens.items()) + ".\n"
    body = f"""# Word-level LSTM language model

A word-level LSTM language model trained with `train.py` of the LSTM temperature playground on
**{shown}**{f" (`{dataset}`)" if shown != dataset else ""}. It predicts the next word of lower-cased, `basic_english`-tokenized text; it is made
for seeing, hands-on, how sampling temperature changes generated text.

## Results

| metric | value |
|---|---|
| parameters | {num_parameters:,} |
| vocabulary | {vocab_size:,} words (min_freq {train_config['min_freq']}, from the train split) |
| best validation perplexity | {ppl(best_valid_loss)} |
| test perplexity (best weights) | {ppl(test_loss)} |
| epochs run | {epochs_run} of {train_config['epochs']} |
| wall time | {wall_seconds / 60:.1f} min |
| hardware | {hardware_name} |

Perplexity uses the reference notebook's evaluation: the split cut into
{train_config.get('eval_batch_size') or train_config['batch_size']} streams, read {train_config['seq_len']} tokens at a time with the LSTM state carried over.
{tokens}
![training curve]({CURVE_NAME})

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
become `<unk>`), writes lower-case tokens, loses the thread after a sentence or two, and repeats
the style and the biases of its source text. It is not for producing facts or text for publication.
"""
    card = folder / "README.md"
    atomic_write(card, lambda tmp: Path(tmp).write_text("\n".join(meta) + body))
    return card
