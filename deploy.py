"""Publish the playground to a Hugging Face Space in one command.

    python deploy.py USER/SPACE                              # the Gradio app on ZeroGPU, the bundled Oz model
    python deploy.py USER/SPACE --model USER/hp-lstm         # ... serving a model from the Hub instead
    python deploy.py USER/SPACE --static                     # the in-browser page (web/): a free static Space
    python deploy.py USER/SPACE --dry-run                    # print the files and the front matter; upload nothing

The Space gets only what it runs: app.py and the modules beside it, lm/, assets/ (the bundled model,
the page's texts), requirements.txt (with `spaces` on ZeroGPU), .gitattributes (LFS for anyone who
`git push`es to it later) and a README whose front matter is this repository's, rewritten in a
temporary staging folder (`models:` and `preload_from_hub:` for --model). One commit through
`huggingface_hub` (`create_repo` + `upload_folder`, which sends large files through LFS/Xet itself).
The token comes from HF_TOKEN or `hf auth login`. Bad input is one line on stderr and exit status 2.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from lm.cli import CLIError, Parser, run_main

ROOT = Path(__file__).resolve().parent
SPACE_FILES = ["app.py", "lessons.py", "space_gpu.py", "requirements.txt", ".gitattributes", "assets/prompts.txt"]
SPACE_GLOBS = ["page_*.py", "lm/*.py", "assets/oz-lstm/*", "assets/page/*"]  # no tests, bench, web, docs
HARDWARE = {"cpu": "cpu-basic", "zero-gpu": "zero-a10g"}  # huggingface_hub's SpaceHardware values
MODEL_FILES = ("config.json", "model.safetensors", "vocab.json")  # what lm.load_pretrained needs

SPACE_TEXT = """
# {title}

A word-level LSTM language model ({model}) that you use in the browser to see, hands-on, how
**sampling temperature** changes generated text: type the start of a story, move the slider, watch
the words stream in, coloured by how likely the model thought each one was.

Deployed with `python deploy.py` from the LSTM temperature playground.
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="deploy.py", description="Publish the temperature playground to a Hugging Face Space.")
    p.add_argument("space", metavar="USER/SPACE", help="the Space's repo id (created if it does not exist)")
    p.add_argument("--model", metavar="REPO_ID", default=None,
                   help="a Hub model to serve instead of the bundled one (the Space variable LM_MODEL; with "
                        "--static, a model folder or Hub id to export)")
    p.add_argument("--hardware", choices=sorted(HARDWARE), default=None,
                   help="the Gradio Space's hardware (default zero-gpu: free for up to two Spaces per account)")
    p.add_argument("--static", action="store_true",
                   help="publish the in-browser page (export.py --space) as a free static Space instead")
    p.add_argument("--private", action="store_true", help="create the Space private")
    p.add_argument("--dry-run", action="store_true", help="print the file list and the front matter; upload nothing")
    args = p.parse_args(argv)
    if args.static and args.hardware:
        p.error("--hardware is for the Gradio Space: a static Space runs in the visitor's browser")
    args.hardware = None if args.static else (args.hardware or "zero-gpu")
    return args


# ------------------------------------------------------------------------------------------ checks
def check_repo_id(flag: str, repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
        if repo_id.count("/") != 1:
            raise HFValidationError("it must be OWNER/NAME")
    except HFValidationError as e:
        raise CLIError(f"{flag} {repo_id!r} is not a valid repo id: {str(e).splitlines()[0]}") from None


def is_hub_id(source: str) -> bool:
    return not Path(source).exists() and source.count("/") == 1


def check_args(args) -> None:
    """Everything that can be checked before anything is built or sent."""
    check_repo_id("USER/SPACE", args.space)
    if args.model and not (args.static and not is_hub_id(args.model)):
        check_repo_id("--model", args.model)  # a Gradio Space downloads its model: a Hub id, not a folder here
    if not args.dry_run:
        from huggingface_hub import get_token

        if get_token() is None:
            raise CLIError("deploying needs a Hugging Face token: set HF_TOKEN or run `hf auth login`")


def check_model_on_hub(api, repo_id: str) -> list[str]:
    """The model must exist and hold what lm.load_pretrained reads; returns its card's datasets."""
    try:
        info = api.model_info(repo_id)
    except Exception as e:  # no such repo, no access, no network: one line, not a traceback
        raise CLIError(f"--model {repo_id!r}: cannot read it on the Hub ({type(e).__name__}: {one_line(e)})") from None
    missing = [n for n in MODEL_FILES if n not in {s.rfilename for s in info.siblings or []}]
    if missing:
        raise CLIError(f"--model {repo_id!r} is not a model made by train.py: it has no {', '.join(missing)}")
    return list(getattr(info.card_data, "datasets", None) or [])


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# ------------------------------------------------------------------------------------------ staging
def front_matter(text: str) -> tuple[dict, str]:
    """(metadata, body) of a README that starts with a YAML block."""
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise ValueError("README.md has no YAML front matter (--- ... ---) at its top")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head) or {}, body


def render(meta: dict, body: str) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n" + body


def space_files() -> list[str]:
    """The repository's files a Gradio Space runs, relative to ROOT (README.md is written, not copied)."""
    names = set(SPACE_FILES)
    for pattern in SPACE_GLOBS:
        names |= {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern) if p.is_file() and p.suffix != ".pyc"}
    if missing := sorted(n for n in names if not (ROOT / n).is_file()):
        raise FileNotFoundError(f"the Space needs {', '.join(missing)}, missing from {ROOT}")
    return sorted(names)


def stage_gradio(stage: Path, model: str | None, hardware: str, datasets: list[str]) -> dict:
    """Write the Gradio Space into `stage`; returns its front matter."""
    for name in space_files():
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, stage / name)
    if hardware == "zero-gpu":  # space_gpu.gpu is spaces.GPU only where the package is importable
        requirements = (stage / "requirements.txt").read_text(encoding="utf-8").rstrip("\n")
        (stage / "requirements.txt").write_text(requirements + "\nspaces\n", encoding="utf-8")
    meta, _ = front_matter((ROOT / "README.md").read_text(encoding="utf-8"))
    meta.pop("models", None)
    meta.pop("datasets", None)
    if model:  # `models:` links the Space to it; `preload_from_hub` downloads it when the Space is built
        meta.update(models=[model], preload_from_hub=[model])
    if datasets:
        meta["datasets"] = datasets
    shown = f"[`{model}`](https://huggingface.co/{model})" if model else "trained on the 14 Oz books by L. Frank Baum"
    (stage / "README.md").write_text(render(meta, SPACE_TEXT.format(title=meta.get("title", "Playground"),
                                                                    model=shown)), encoding="utf-8")
    return meta


def stage_static(stage: Path, model: str | None) -> dict:
    """Write the static Space (export.py --space) into `stage`; returns its front matter."""
    import export

    out = stage / "space"
    export.write_space(model or str(ROOT / "assets" / "oz-lstm"), out)
    meta, body = front_matter((out / "README.md").read_text(encoding="utf-8"))
    if model and is_hub_id(model):
        meta["models"] = [model]
    (out / "README.md").write_text(render(meta, body), encoding="utf-8")
    return meta


# ------------------------------------------------------------------------------------------ publishing
def publish(api, args, folder: Path, sdk: str) -> str:
    """Create the Space (if needed), upload `folder` in one commit, then set its variable and hardware."""
    api.create_repo(args.space, repo_type="space", space_sdk=sdk, private=args.private or None, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=args.space, repo_type="space",
                             commit_message="Deploy the temperature playground (deploy.py)")
    if args.model and sdk == "gradio":
        api.add_space_variable(args.space, "LM_MODEL", args.model, description="the model app.py serves")
    if args.hardware:
        api.request_space_hardware(args.space, HARDWARE[args.hardware])
    return info.commit_url


def run(args) -> int:
    from huggingface_hub import HfApi

    check_args(args)
    api = HfApi()
    datasets = check_model_on_hub(api, args.model) if args.model and not args.static and not args.dry_run else []
    with tempfile.TemporaryDirectory(prefix="space-") as tmp:
        stage = Path(tmp)
        if args.static:
            meta, folder, sdk = stage_static(stage, args.model), stage / "space", "static"
        else:
            meta, folder, sdk = stage_gradio(stage, args.model, args.hardware, datasets), stage, "gradio"
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        print(f"{sdk} Space {args.space}" + (f" on {args.hardware}" if args.hardware else "") + f": {len(files)} files")
        print("\n".join(f"  {name}" for name in files))
        print(render(meta, "").rstrip("\n"))
        if args.dry_run:
            print("dry run: nothing uploaded")
            return 0
        try:
            url = publish(api, args, folder, sdk)
        except Exception as e:  # the network, the token's rights, the Hub's answer: one line, not a traceback
            raise CLIError(f"deploying to {args.space} failed: {type(e).__name__}: {one_line(e)}", 1) from e
    print(f"deployed: https://huggingface.co/spaces/{args.space} ({url})")
    return 0


def main(argv=None) -> int:
    return run_main("deploy.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
