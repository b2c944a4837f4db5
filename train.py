"""Train the word-level LSTM language model and write a Hub-ready model folder.

    python train.py                                   # the notebook's recipe on the Harry Potter dataset
    python train.py --dataset ../shared/corpora/oz --recipe awd --emb-dim 400 --hid-dim 400 --out runs/oz
    python train.py --out runs/oz --resume            # continue a killed run
    torchrun --nproc_per_node 2 train.py ...          # DistributedDataParallel (gloo on CPU, NCCL on GPU)
    python train.py ... --push-to-hub user/hp-lstm    # upload the folder (token: HF_TOKEN or a saved login)
"""

import argparse
import math
import os
import sys
from dataclasses import asdict, fields
from pathlib import Path

from lm._cli import Parser
from lm.training import RECIPES, TrainConfig

HELP = {
    "dataset": "Hugging Face dataset id, or a local folder with train/ validation/ test/ text files",
    "min_freq": "minimum count in the train split for a word to enter the vocabulary",
    "batch_size": "number of parallel token streams per step",
    "seq_len": "tokens per truncated-backprop-through-time chunk",
    "eval_batch_size": "streams for validation/test perplexity (default: --batch-size, as the notebook)",
    "emb_dim": "embedding size",
    "hid_dim": "LSTM hidden size (a tied model's last layer is --emb-dim wide)",
    "num_layers": "number of LSTM layers",
    "dropout_rate": "dropout on the embedding output, between layers and before the output layer",
    "tie_weights": "share the embedding and output matrices",
    "locked_dropout": "one dropout mask per sequence (variational dropout) instead of one per token",
    "dropout_emb": "probability of dropping a whole word type from the embedding matrix",
    "dropout_in": "dropout on the embedding output (default: --dropout-rate)",
    "dropout_hid": "dropout between LSTM layers (default: --dropout-rate)",
    "dropout_out": "dropout before the output layer (default: --dropout-rate)",
    "weight_drop": "DropConnect probability on the LSTM hidden-to-hidden weights",
    "optimizer": "adam (notebook) or adamw",
    "lr": "learning rate",
    "weight_decay": "weight decay (decoupled for adamw)",
    "schedule": "plateau: halve lr when validation loss stops improving (notebook); cosine: to 0 at the last epoch",
    "warmup_steps": "linear learning-rate warm-up steps (cosine schedule)",
    "clip": "gradient-norm clipping threshold",
    "epochs": "number of epochs",
    "seed": "random seed",
    "max_minutes": "stop training after this many minutes (a wall-clock budget), keeping the best model",
}


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {s!r}")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="notebook",
                   help="named set of defaults: notebook (the reference notebook) or awd (the improved recipe); "
                        "flags given explicitly override it")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        kind = {bool: _bool, int: int, float: float, str: str}.get(type(default), float)
        if f.name in ("eval_batch_size",):
            kind = int
        p.add_argument(flag, type=kind, default=None, metavar=f.name.upper() if kind is not _bool else "BOOL",
                       help=f"{HELP[f.name]} (default: {default})")
    p.add_argument("--out", default="runs/lstm", help="folder that receives the best model, card and curve")
    p.add_argument("--checkpoint-dir", default=None, help="where checkpoints go (default: OUT/checkpoints)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps (0: epoch ends only)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--dataset-name", default=None,
                   help="human-readable name of the dataset for the model card (default: --dataset)")
    p.add_argument("--overwrite", action="store_true", help="start afresh even if --out already holds a run")
    p.add_argument("--device", default=None, help="force a device (cpu, cuda, cuda:1, mps); default: CUDA > MPS > CPU")
    p.add_argument("--amp", choices=["bf16"], default=None, help="bfloat16 autocast (CUDA only)")
    p.add_argument("--push-to-hub", metavar="REPO_ID", default=None,
                   help="upload the model folder to this Hub repo when training ends (token: HF_TOKEN or saved login)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs stay)")
    return p


def config_from_args(args, base: dict | None = None) -> TrainConfig:
    """The recipe's values (or `base`, a resumed run's saved configuration), then the explicit flags."""
    values = dict(base) if base is not None else dict(RECIPES[args.recipe])
    for f in fields(TrainConfig):
        v = getattr(args, f.name)
        if v is not None:
            values[f.name] = v
    return TrainConfig(**values)


def _error(message: str, status: int = 2) -> int:
    """One line on stderr, no usage dump, no traceback."""
    print(f"train.py: error: {message}", file=sys.stderr)
    return status


def _flag_message(message: str) -> str:
    """'batch_size must be ...' -> '--batch-size must be ...': name the flag the user typed."""
    name = message.split(" ", 1)[0]
    if name in {f.name for f in fields(TrainConfig)}:
        return "--" + name.replace("_", "-") + message[len(name):]
    return message


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # malformed flags: argparse's usage + error, exit 2
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which handles it itself)
        print("train.py: interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    # Every check that needs no data comes first: bad input fails fast and writes nothing.
    out = Path(args.out)
    ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else out / "checkpoints"
    base = None
    if args.resume and (ckpt_dir / "last.pt").is_file():
        # A resumed run takes its configuration from the checkpoint: `--out DIR --resume` is enough.
        from lm.training import load_checkpoint

        try:
            base = load_checkpoint(ckpt_dir / "last.pt", mmap=True)["train_config"]
        except ValueError as e:
            return _error(str(e))
    cfg = config_from_args(args, base)
    try:
        cfg.validate()
    except ValueError as e:
        return _error(_flag_message(str(e)))
    if args.checkpoint_every < 0:
        return _error(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if out.exists() and not out.is_dir():
        return _error(f"--out {out} exists and is not a folder")
    if ckpt_dir.exists() and not ckpt_dir.is_dir():
        return _error(f"checkpoint folder {ckpt_dir} exists and is not a folder")
    if args.resume and not (ckpt_dir / "last.pt").is_file():
        return _error(f"--resume: no checkpoint at {ckpt_dir / 'last.pt'}")
    if not args.resume and not args.overwrite and ((ckpt_dir / "last.pt").is_file() or (out / "model.safetensors").is_file()):
        return _error(f"--out {out} already holds a run: pass --resume to continue it, --overwrite to start over, "
                      f"or choose another --out")
    if args.push_to_hub:
        from huggingface_hub import get_token
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(args.push_to_hub)
        except HFValidationError as e:
            return _error(f"--push-to-hub {args.push_to_hub!r} is not a valid repo id: {str(e).splitlines()[0]}")
        if get_token() is None:  # found out now, not after hours of training
            return _error("--push-to-hub needs a Hugging Face token: set HF_TOKEN or run `hf auth login`")

    import torch

    import lm
    from lm.card import hardware, write_model_card
    from lm.training import pick_device, train

    try:
        device = pick_device(args.device)
    except ValueError as e:
        return _error(str(e))
    if args.amp and device.type != "cuda":
        return _error(f"--amp {args.amp} needs a CUDA device, got {device}")
    is_main = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 reports and writes

    try:
        corpus = lm.load_corpus(cfg.dataset, min_freq=cfg.min_freq)
    except (ValueError, OSError, RuntimeError) as e:
        return _error(str(e))
    with torch.device("meta"):  # shapes only: counting needs no memory for the weights
        num_params = lm.LSTMLanguageModel(**asdict(cfg.model_config(len(corpus.vocab)))).num_parameters()
    if is_main:
        print(f"dataset {cfg.dataset}: vocab {len(corpus.vocab):,}, tokens train {corpus.train.numel():,} "
              f"validation {corpus.validation.numel():,} test {corpus.test.numel():,}")
        print(f"model: {num_params:,} trainable parameters")
    hw = hardware()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        hw += f", DistributedDataParallel over {world} processes"

    def on_epoch_end(history, best_valid, test_loss):
        seconds = sum(h["seconds"] for h in history)
        write_model_card(out, train_config=asdict(cfg), num_parameters=num_params, vocab_size=len(corpus.vocab),
                         history=history, best_valid_loss=best_valid, test_loss=test_loss, wall_seconds=seconds,
                         hardware_name=hw, repo_id=args.push_to_hub, dataset_name=args.dataset_name,
                         dataset_tokens={"train": corpus.train.numel(), "validation": corpus.validation.numel(),
                                         "test": corpus.test.numel()})

    try:
        result = train(cfg, out, checkpoint_dir=ckpt_dir, resume=args.resume, checkpoint_every=args.checkpoint_every,
                       device=args.device, amp=args.amp, corpus=corpus, progress=not args.no_progress,
                       on_epoch_end=on_epoch_end)
    except ValueError as e:  # data too small for the batch, checkpoint of another config/vocab, corrupt checkpoint
        return _error(str(e))
    if result.interrupted:
        return 130  # Ctrl-C / SIGTERM: checkpoint written, resume later
    if result.test_loss is not None:
        print(f"best valid ppl {math.exp(result.best_valid_loss):.2f} | test ppl {math.exp(result.test_loss):.2f} | "
              f"{result.wall_seconds / 60:.1f} min | model in {out}")
    if args.push_to_hub and is_main and math.isfinite(result.best_valid_loss):
        from lm.hub import push_folder

        try:
            url = push_folder(out, args.push_to_hub)
        except Exception as e:  # network, auth, Hub errors: the trained model is safe in --out
            reason = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
            return _error(f"push to {args.push_to_hub} failed ({reason}); the model is saved in {out}", 1)
        print(f"pushed {out} to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
