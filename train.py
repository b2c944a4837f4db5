"""Train the word-level LSTM language model and write a Hub-ready model folder.

    python train.py                                   # the notebook's recipe on the Harry Potter dataset
    python train.py --dataset ../shared/corpora/oz --recipe awd --emb-dim 400 --hid-dim 400 --out runs/oz
    python train.py --out runs/oz --resume            # continue a killed run
    torchrun --nproc_per_node 2 train.py ...          # DistributedDataParallel (gloo on CPU, NCCL on GPU)
    python train.py ... --push-to-hub user/hp-lstm    # upload the folder (token: HF_TOKEN or a saved login)

At the end it also writes the n-gram index of the train split (ngrams.safetensors, lm.ngrams), so a pushed
folder has it and the page can tell how much of a text was copied from the books; --no-ngram-index skips it.
"""

import argparse
import json
import math
import os
import sys
import types
from dataclasses import asdict, fields, replace
from pathlib import Path

from lm import checkpoint
from lm.card import CURVE_NAME, RESULTS_NAME
from lm.cli import CLIError, Parser, run_main
from lm.config import RECIPES, TrainConfig
from lm.files import is_temp_of, read_seal
from lm.hub import CONFIG_NAME, MODEL_TYPE, VOCAB_NAME, WEIGHTS_NAME
from lm.model import LMConfig
from lm.ngrams import NGRAMS_NAME, is_ngram_index
from lm.training import RUN_FILES
from lm.vocab import VOCAB_FORMAT

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
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even if --out already holds a run, or write beside other files in it "
                        "(a file that is not a run's is never replaced)")
    p.add_argument("--device", default=None, help="force a device (cpu, cuda, cuda:1, mps); default: CUDA > MPS > CPU")
    p.add_argument("--amp", choices=["bf16"], default=None, help="bfloat16 autocast (CUDA only)")
    p.add_argument("--push-to-hub", metavar="REPO_ID", default=None,
                   help="upload the model folder to this Hub repo when training ends (token: HF_TOKEN or saved login)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs stay)")
    p.add_argument("--no-ngram-index", action="store_true",
                   help=f"do not write {NGRAMS_NAME} (which 4-grams the train split holds: bits of hashes, no text)")
    return p


def config_from_args(args, base: TrainConfig | None = None) -> TrainConfig:
    """`base` (default: the recipe; or a resumed run's configuration) with the explicit flags on top."""
    base = base or RECIPES[args.recipe]
    given = lambda fs: {f.name: getattr(args, f.name) for f in fs if getattr(args, f.name) is not None}  # noqa: E731
    cfg = replace(base, model=replace(base.model, **given(MODEL_FIELDS)), **given(TRAIN_FIELDS))
    cfg.validate()
    return cfg


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_card(path: Path) -> bool:
    """A model card of ours: YAML front matter holding `library_name: lm`."""
    with open(path, "rb") as f:
        text = f.read(1 << 16).decode("utf-8", "replace")
    return text.startswith("---\n") and "library_name: lm" in text[4:].split("\n---\n", 1)[0].splitlines()


def _is_checkpoint(path: Path) -> bool:
    """A checkpoint of ours: sealed (damaged or not), or an older train.py's (unsealed, our format)."""
    if read_seal(path) is not None:
        return True
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a torch file, or one that holds more than tensors and plain data
        return False
    return isinstance(state, dict) and state.get("format") == checkpoint.FORMAT


def run_files(out: Path, ckpt_dir: Path) -> dict[Path, bool]:
    """Each file a run writes that is already there: whether it is ours (a file of a run of train.py).

    config.json names our model type, and model.safetensors is ours beside it (a run writes
    config.json first); vocab.json and training_results.json have our formats; README.md is a card
    whose metadata says `library_name: lm`; training_curve.png is ours beside our training_results.json;
    the checkpoint is sealed by us (or is an older train.py's), or sits in OUT/checkpoints beside other
    files of ours. A symlink is never ours: we write none."""
    config, results = _json(out / CONFIG_NAME), _json(out / RESULTS_NAME)
    model_ours = isinstance(config, dict) and config.get("model_type") == MODEL_TYPE
    results_ours = isinstance(results, dict) and isinstance(results.get("train_config"), dict) \
        and isinstance(results.get("history"), list)
    vocab = _json(out / VOCAB_NAME)
    rules = {CONFIG_NAME: lambda p: model_ours, WEIGHTS_NAME: lambda p: model_ours,
             VOCAB_NAME: lambda p: isinstance(vocab, dict) and vocab.get("format") == VOCAB_FORMAT,
             RESULTS_NAME: lambda p: results_ours, CURVE_NAME: lambda p: results_ours, "README.md": _is_card,
             NGRAMS_NAME: is_ngram_index}
    found = {out / name: p.is_file() and not p.is_symlink() and ours(p)
             for name, ours in rules.items() if os.path.lexists(p := out / name)}
    ckpt = ckpt_dir / checkpoint.NAME
    if os.path.lexists(ckpt):  # in OUT/checkpoints beside a run of ours, a damaged one is still the run's
        mine = ckpt.is_file() and not ckpt.is_symlink()
        found[ckpt] = mine and (_is_checkpoint(ckpt) or ckpt_dir == out / "checkpoints" and any(found.values()))
    return found


def other_entries(out: Path, ckpt_dir: Path, ours: dict) -> list[str]:
    """What --out and the checkpoint folder hold besides a run's files and their temporaries."""
    others, names_in = [], {out: [*RUN_FILES, NGRAMS_NAME]}
    names_in.setdefault(ckpt_dir, []).append(checkpoint.NAME)  # (--checkpoint-dir may be --out itself)
    for folder, names in names_in.items():
        for entry in sorted(os.listdir(folder)) if folder.is_dir() else []:
            path = folder / entry
            if path not in ours and path != ckpt_dir and not any(is_temp_of(entry, n) for n in names):
                others.append(str(path.relative_to(out)) if path.is_relative_to(out) else str(path))
    return others


def check_out(args, ckpt_dir: Path) -> None:
    """Every check of --out that needs no data, so that bad input fails fast and writes nothing.

    A file a run would write that is there and not ours is never replaced (not even with --overwrite);
    a folder that holds other things and no run of ours is written into only with --overwrite."""
    out = Path(args.out)
    if args.checkpoint_every < 0:
        raise CLIError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder")
    if ckpt_dir.exists() and not ckpt_dir.is_dir():
        raise CLIError(f"checkpoint folder {ckpt_dir} exists and is not a folder")
    ours = run_files(out, ckpt_dir)
    foreign = [str(p.relative_to(out)) if p.is_relative_to(out) else str(p) for p, mine in ours.items()
               if not mine and not (args.resume and p.name == checkpoint.NAME)]  # (resume: checkpoint.load says)
    if foreign:
        raise CLIError(f"--out {out}: {', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not from a run of "
                       f"train.py, and train.py never replaces a file it did not write (not even with --overwrite): "
                       f"move {'it' if len(foreign) == 1 else 'them'} away or choose another --out")
    if args.resume and not (ckpt_dir / checkpoint.NAME).is_file():
        raise CLIError(f"--resume: no checkpoint at {ckpt_dir / checkpoint.NAME}")
    if args.resume or args.overwrite:
        return
    if ours:
        raise CLIError(f"--out {out} already holds a run: pass --resume to continue it, --overwrite to start over, "
                       f"or choose another --out")
    others = other_entries(out, ckpt_dir, ours)
    if others:
        raise CLIError(f"--out {out} is not empty and holds no run of train.py ({len(others)} other entries: "
                       f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''}): choose a new or empty folder, "
                       f"or pass --overwrite to write the run beside them")


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

    from lm.card import whole_epochs, write_results
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
            "vocab_size": len(corpus.vocab), "epochs": len(whole_epochs(history)),
            "minutes": sum(h["seconds"] for h in history) / 60, "hardware": hardware,
            "best_valid_ppl": math.exp(best_valid) if math.isfinite(best_valid) else None,
            "test_ppl": math.exp(test_loss) if test_loss is not None else None,
            "train_config": asdict(cfg), "tokens": tokens, "history": history}, repo_id=args.push_to_hub)
    return on_epoch_end, parameters


def run(args) -> int:
    ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else Path(args.out) / "checkpoints"
    check_out(args, ckpt_dir)
    base = None
    if args.resume:  # a resumed run takes its configuration from the checkpoint: `--out DIR --resume` is enough
        path = ckpt_dir / checkpoint.NAME
        base = checkpoint.read_config(checkpoint.load(path, mmap=True), TrainConfig, path)
    cfg = config_from_args(args, base)
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
    if not args.no_ngram_index and dist.main and math.isfinite(result.best_valid_loss):
        write_ngram_index(args.out, corpus)
    if args.push_to_hub and dist.main and math.isfinite(result.best_valid_loss):
        push(args)
    return 0


def write_ngram_index(out, corpus) -> None:
    """The train split's 4-grams, in the ids training read (the model's vocabulary), beside the model."""
    from lm.ngrams import NgramIndex

    index = NgramIndex.build(corpus.train, vocab=corpus.vocab)
    print(f"n-gram index: {index.items:,} distinct 4-grams in {index.size_bytes / 2**20:.2f} MiB, "
          f"{index.save(out)}")


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
