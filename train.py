"""Train the word-level LSTM language model and write a Hub-ready model folder.

    python train.py                                   # the notebook's recipe on the Harry Potter dataset
    python train.py --dataset ../shared/corpora/oz --recipe awd --emb-dim 400 --hid-dim 400 --out runs/oz
    python train.py --out runs/oz --resume            # continue a killed run
    torchrun --nproc_per_node 2 train.py ...          # DistributedDataParallel (gloo on CPU, NCCL on GPU)
    python train.py ... --push-to-hub user/hp-lstm    # upload the folder (token: HF_TOKEN or a saved login)
"""

import argparse
import math
import sys
import types
from dataclasses import asdict, fields, replace
from pathlib import Path

from lm import checkpoint
from lm.cli import CLIError, Parser, run_main
from lm.model import LMConfig
from lm.training import RECIPES, TrainConfig

# Flags: every TrainConfig field, and every LMConfig field but vocab_size (it comes from the corpus).
TRAIN_FIELDS = [f for f in fields(TrainConfig) if f.name != "model"]
MODEL_FIELDS = [f for f in fields(LMConfig) if f.name != "vocab_size"]


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {s!r}")


def _flag_type(f):
    kind = f.type
    if isinstance(kind, types.UnionType):  # int | None -> int
        kind = next(a for a in kind.__args__ if a is not type(None))
    return _bool if kind is bool else kind


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="notebook",
                   help="named set of defaults: notebook (the reference notebook) or awd (the improved recipe); "
                        "flags given explicitly override it")
    for f, default in [(f, getattr(TrainConfig(), f.name)) for f in TRAIN_FIELDS] + \
                      [(f, getattr(LMConfig(), f.name)) for f in MODEL_FIELDS]:
        kind = _flag_type(f)
        p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None,
                       metavar="BOOL" if kind is _bool else f.name.upper(),
                       help=f"{f.metadata['help']} (default: {default})")
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


def config_from_args(args, base: TrainConfig | None = None) -> TrainConfig:
    """`base` (default: the recipe; or a resumed run's configuration) with the explicit flags on top."""
    base = base or RECIPES[args.recipe]
    given = lambda fs: {f.name: getattr(args, f.name) for f in fs if getattr(args, f.name) is not None}  # noqa: E731
    cfg = replace(base, model=replace(base.model, **given(MODEL_FIELDS)), **given(TRAIN_FIELDS))
    cfg.validate()
    return cfg


def check_out(args, ckpt_dir: Path) -> None:
    """Every check of --out that needs no data, so that bad input fails fast and writes nothing."""
    out = Path(args.out)
    if args.checkpoint_every < 0:
        raise CLIError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder")
    if ckpt_dir.exists() and not ckpt_dir.is_dir():
        raise CLIError(f"checkpoint folder {ckpt_dir} exists and is not a folder")
    if args.resume and not (ckpt_dir / checkpoint.NAME).is_file():
        raise CLIError(f"--resume: no checkpoint at {ckpt_dir / checkpoint.NAME}")
    if not args.resume and not args.overwrite and ((ckpt_dir / checkpoint.NAME).is_file()
                                                   or (out / "model.safetensors").is_file()):
        raise CLIError(f"--out {out} already holds a run: pass --resume to continue it, --overwrite to start over, "
                       f"or choose another --out")


def check_push(repo_id: str | None) -> None:
    """A bad repo id or a missing token is found out now, not after hours of training."""
    if not repo_id:
        return
    from huggingface_hub import get_token
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise CLIError(f"--push-to-hub {repo_id!r} is not a valid repo id: {str(e).splitlines()[0]}") from None
    if get_token() is None:
        raise CLIError("--push-to-hub needs a Hugging Face token: set HF_TOKEN or run `hf auth login`")


def card_writer(args, cfg: TrainConfig, corpus, hardware: str):
    """The on_epoch_end callback: training_results.json, curve and card, after every epoch and at the end."""
    import torch

    from lm.card import write_results
    from lm.files import local_folder
    from lm.model import LSTMLanguageModel

    with torch.device("meta"):  # shapes only: counting needs no memory for the weights
        parameters = LSTMLanguageModel(replace(cfg.model, vocab_size=len(corpus.vocab))).num_parameters()
    tokens = {split: corpus.split(split).numel() for split in ("train", "validation", "test")}
    # A local folder is named by its own name, never by a path on the training machine.
    dataset_name = args.dataset_name or (cfg.dataset if local_folder(cfg.dataset, "corpus") is None
                                         else Path(cfg.dataset).name)

    def on_epoch_end(history, best_valid, test_loss):
        write_results(args.out, {
            "dataset_name": dataset_name, "parameters": parameters,
            "vocab_size": len(corpus.vocab), "epochs": len(history),
            "minutes": sum(h["seconds"] for h in history) / 60, "hardware": hardware,
            "best_valid_ppl": math.exp(best_valid) if math.isfinite(best_valid) else None,
            "test_ppl": math.exp(test_loss) if test_loss is not None else None,
            "train_config": asdict(cfg), "tokens": tokens, "history": history}, repo_id=args.push_to_hub)
    return on_epoch_end, parameters


def run(args) -> int:
    ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else Path(args.out) / "checkpoints"
    base = None
    if args.resume and (ckpt_dir / checkpoint.NAME).is_file():
        # A resumed run takes its configuration from the checkpoint: `--out DIR --resume` is enough.
        base = TrainConfig.from_dict(checkpoint.load(ckpt_dir / checkpoint.NAME, mmap=True)["train_config"])
    cfg = config_from_args(args, base)
    check_out(args, ckpt_dir)
    check_push(args.push_to_hub)

    import lm
    from lm.distributed import Dist, hardware
    from lm.training import train

    dist = Dist()
    corpus = lm.load_corpus(cfg.dataset, min_freq=cfg.min_freq)
    on_epoch_end, parameters = card_writer(args, cfg, corpus, hardware(dist.world))
    if dist.main:
        stats = corpus.stats()
        print(f"dataset {cfg.dataset}: vocab {stats['vocab_size']:,}, tokens train {stats['train_tokens']:,} "
              f"validation {stats['validation_tokens']:,} test {stats['test_tokens']:,}")
        print(f"model: {parameters:,} trainable parameters")
    result = train(cfg, args.out, checkpoint_dir=ckpt_dir, resume=args.resume, checkpoint_every=args.checkpoint_every,
                   device=args.device, amp=args.amp, corpus=corpus, progress=not args.no_progress,
                   on_epoch_end=on_epoch_end)
    if result.interrupted:
        return 130  # Ctrl-C / SIGTERM: checkpoint written, resume later
    if result.test_loss is not None:
        print(f"best valid ppl {math.exp(result.best_valid_loss):.2f} | test ppl {math.exp(result.test_loss):.2f} | "
              f"{result.wall_seconds / 60:.1f} min | model in {args.out}")
    if args.push_to_hub and dist.main and math.isfinite(result.best_valid_loss):
        push(args)
    return 0


def push(args) -> None:
    from lm.hub import push_folder

    try:
        url = push_folder(args.out, args.push_to_hub)
    except Exception as e:  # network, auth, Hub errors: the trained model is safe in --out
        reason = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise CLIError(f"push to {args.push_to_hub} failed ({reason}); the model is saved in {args.out}", 1) from e
    print(f"pushed {args.out} to {url}")


def main(argv=None) -> int:
    return run_main("train.py", run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
