"""The recipe experiment: the notebook's recipe against the improved (awd) one, same width, same
wall-clock budget, same vocabulary and the notebook's evaluation (batch 128, seq_len 50); and the
improved recipe without its activation regularisation (AR/TAR), the idea this run measured.

    python bench/recipe_experiment.py --dataset ../shared/corpora/oz --minutes 35 --width 400
    python bench/recipe_experiment.py --report-only          # table + curves from finished runs

All runs are started at once, one CPU thread each, so they share the machine (and whatever else
runs on it) equally. Each keeps its best model in OUT/<arm>; the table and the curve plot go to
OUT/results.md and OUT/curves.png.
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARMS = {  # name: train.py flags
    "notebook": ["--recipe", "notebook"],
    "awd": ["--recipe", "awd"],
    "awd-no-ar": ["--recipe", "awd", "--ar", "0", "--tar", "0"],  # the improved recipe before AR/TAR
}


def run(args) -> None:
    procs = []
    for arm, flags in ARMS.items():
        out = Path(args.out) / arm
        cmd = [sys.executable, str(ROOT / "train.py"), *flags, "--dataset", args.dataset,
               "--emb-dim", str(args.width), "--hid-dim", str(args.width), "--epochs", str(args.epochs),
               "--max-minutes", str(args.minutes), "--eval-batch-size", "128", "--seq-len", "50",
               "--min-freq", "3", "--out", str(out), "--checkpoint-dir", str(Path(args.out) / f"{arm}-checkpoints"),
               "--no-progress"]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        log = open(Path(args.out) / f"{arm}.log", "w")
        print(" ".join(cmd), flush=True)
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
    codes = [p.wait() for p in procs]
    if any(codes):
        sys.exit(f"a run failed: exit codes {dict(zip(ARMS, codes))}; see {args.out}/*.log")


def report(out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {r: json.loads((out / r / "training_results.json").read_text()) for r in ARMS}
    lines = ["| arm | parameters | epochs | minutes | best valid ppl | test ppl |", "|---|---|---|---|---|---|"]
    for r, d in results.items():
        epochs = sum(h["steps"] for h in d["history"]) / max(h["steps"] for h in d["history"])
        lines.append(f"| {r} | {d['parameters'] / 1e6:.2f}M | {epochs:.1f} | {d['minutes']:.0f} | "
                     f"{d['best_valid_ppl']:.1f} | {d['test_ppl']:.1f} |")
    base, new, no_ar = (results[r]["test_ppl"] for r in ("notebook", "awd", "awd-no-ar"))
    lines.append("")
    lines.append(f"Improved recipe's test perplexity is {new / base:.2f}x the notebook recipe's "
                 f"({100 * (1 - new / base):.1f}% lower); AR/TAR took it from {no_ar:.1f} to {new:.1f}.")
    text = "\n".join(lines)
    fig, ax = plt.subplots(figsize=(7, 4))
    for (r, d), color in zip(results.items(), ("tab:blue", "tab:green", "tab:gray")):
        minutes = [sum(h["seconds"] for h in d["history"][:i + 1]) / 60 for i in range(len(d["history"]))]
        ax.plot(minutes, [math.exp(h["valid_loss"]) for h in d["history"]], "o-", color=color, label=f"{r} valid")
        ax.plot(minutes, [math.exp(h["train_loss"]) for h in d["history"]], "--", color=color, alpha=0.6,
                label=f"{r} train")
    ax.set_xlabel("minutes")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)
    (out / "results.md").write_text(text + "\n")
    return text


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=str(ROOT.parent / "shared" / "corpora" / "oz"), help="corpus folder or Hub id")
    p.add_argument("--minutes", type=float, default=35, help="wall-clock training budget per arm")
    p.add_argument("--width", type=int, default=400, help="embedding and hidden size of both models")
    p.add_argument("--epochs", type=int, default=50, help="epoch cap (the time budget normally ends the runs first)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads per run (both runs go at once)")
    p.add_argument("--out", default=str(ROOT / "runs" / "experiment"), help="where the runs and the report go")
    p.add_argument("--report-only", action="store_true", help="only build the table and curves from finished runs")
    args = p.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run(args)
    print(report(Path(args.out)))


if __name__ == "__main__":
    main()
