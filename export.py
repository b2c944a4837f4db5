"""Export a model for the static page in web/ (ONNX + words + settings), or a whole static Space folder.

    python export.py                     # assets/oz-lstm -> web/model, web/ort; then: python -m http.server -d web
    python export.py --model user/oz-lstm --space --out dist/web-space

The graph is one `LSTMLanguageModel.step` (onnx_step.py). Beside it: a smaller variant (float16 or int8
storage), words.json (display forms), tokenizer.json (this Python's Unicode tables, so the page tokenizes as
`lm.tokenize` in every browser), settings.json (assets/page/settings.json and more) and manifest.json.
"""

import argparse
import gzip
import hashlib
import json
import re
import shutil
import sys
import unicodedata
from pathlib import Path

import lm
import lm.printing
from lm.text import capitalise, shown
from onnx_step import OPSET, SMALL_KINDS, compare, export_onnx, io_names, shrink
from page_plots import training_figure

HERE = Path(__file__).resolve().parent
WEB = HERE / "web"
PAGE = HERE / "assets" / "page"
ORT_DIST = HERE / "node_modules" / "onnxruntime-web" / "dist"
WASM = "ort-wasm-simd-threaded.wasm"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", WASM)


# --------------------------------------------------------------------------------------- page files
def words_payload(vocab: lm.Vocab) -> dict:
    """Each token's form mid-sentence and at a sentence start (`lm.text.shown`, `capitalise`), by id, and the
    words shown with a colon before a paragraph break (`Vocab.colons`), in lower case after ! or ?
    (`Vocab.lower_after`) and joined to the word before an apostrophe (`Vocab.tails`: "Cap'n")."""
    forms = [shown(vocab.display, t) for t in vocab.itos]
    return {"format": "lm-web-words", "itos": vocab.itos, "shown": forms, "capital": [capitalise(f) for f in forms],
            "unk_index": vocab.unk_index, "eos_index": vocab.eos_index,
            **{k: v for k, v in lm.printing.payload(vocab.printing, vocab.stoi).items() if k != "display"}}


def _ranges(codepoints: list[int]) -> list[list[int]]:
    out = []
    for c in codepoints:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def tokenizer_tables() -> dict:
    """What `lm.tokenize` takes from this Python's Unicode data: `str.lower()` of every character that changes,
    the final-sigma context (case-ignorable and cased characters, probed through `lower()` itself) and `\\s`."""
    lower, ignorable, cased, space = {}, [], [], []
    for ch in (chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF):  # no lone surrogates in real text
        if unicodedata.category(ch) == "Cn":
            continue
        c = ord(ch)
        if ch.lower() != ch and c != 0x3A3:
            lower[str(c)] = ch.lower()
        if ("A" + ch + "\u03a3").lower()[-1] == "ς" and (ch + "\u03a3").lower()[-1] == "σ":
            ignorable.append(c)
        elif (ch + "\u03a3").lower()[-1] == "ς":
            cased.append(c)
        if re.match(r"\s", ch):
            space.append(c)
    return {"format": "lm-web-tokenizer", "python": sys.version.split()[0], "unicode": unicodedata.unidata_version,
            "lower": lower, "case_ignorable": _ranges(ignorable), "cased": _ranges(cased), "space": space}


def page_settings(info: dict) -> dict:
    """assets/page/settings.json and what both pages show besides: prompts, texts, bar colours, the model's facts,
    the Whole texts tab."""
    from markdown_it import MarkdownIt

    import page_actions
    import page_bars
    import page_format
    import page_wholetext

    settings = json.loads((PAGE / "settings.json").read_text(encoding="utf-8"))
    settings["prompts"] = page_format.load_prompts()  # the Gradio page's examples
    choices = sorted({*settings["plot_temperature_choices"], *page_wholetext.TEMPERATURE_CHOICES})
    settings["temperature_colours"] = {f"{t:g}": page_bars.colour(t) for t in choices}  # the Gradio page's
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    texts = {n: (PAGE / f"{n}.md").read_text(encoding="utf-8") for n in ("description", "explanation")}
    settings["texts"] = {**{n: md.render(text) for n, text in texts.items()},
                         "model_line": md.renderInline(page_format.model_line(info)),
                         "model": md.render(page_format.model_markdown(info))}
    settings["model"] = {k: v for k, v in info.items() if k not in ("history", "training_curve")}
    settings["notebook_temperatures"] = list(lm.NOTEBOOK_TEMPERATURES)
    settings["lessons"], settings["quiz"] = lesson_settings(md)
    settings["whole_texts"] = page_wholetext.page_settings(md.render)
    settings["messages"] = page_actions.NOTHING_WRITTEN
    return settings


def lesson_settings(md) -> tuple[list[dict], dict]:
    """The Lessons tab as web/js/lessons.js reads it: each lesson's settings with its notice as HTML, and the quiz."""
    from lessons import LESSONS, QUIZ, QUIZ_CHOICES

    shown = [lesson.settings(md.renderInline(lesson.headed(n, lesson.notice)))
             for n, lesson in enumerate(LESSONS, 1)]
    quiz = {"new_tokens": QUIZ["new_tokens"], "top_words": QUIZ["top_words"], "how_to_tell": QUIZ["how_to_tell"],
            "choices": [{"temperature": c.temperature, "name": c.name, "tell": c.tell, "label": c.label}
                        for c in QUIZ_CHOICES]}
    return shown, quiz


def _json(path: Path, payload) -> None:  # compact: words.json is a download
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def pack(path: Path) -> Path:
    """`path` gzipped beside it (path.gz): what the page downloads. Weights shrink little (about 7%), the
    onnxruntime wasm to a quarter. No timestamp inside, so the same file packs to the same bytes."""
    packed = path.with_name(path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    return packed


def write_model_folder(source, out, small: str | None = "float16", measure: bool = True) -> dict:
    """Write the page's model folder `out` from a model folder or Hub repo id; returns the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (model, vocab), info = lm.load_pretrained(source), lm.model_info(source)
    files = {"model": export_onnx(model, out / "model.onnx").name}
    index = lm.load_ngram_index(source, vocab)  # the Whole texts tab's copy measure, fetched when it first runs
    if index is not None:
        files["ngrams"] = index.save(out).name
    if small:
        files["small"] = shrink(out / "model.onnx", out / f"model-{small}.onnx", small).name
    for name, payload in [("words", words_payload(vocab)), ("tokenizer", tokenizer_tables()),
                          ("settings", page_settings(info))]:
        _json(out / f"{name}.json", payload)
        files[name] = f"{name}.json"
    shutil.copyfile(PAGE / "draw.css", out / "draw.css")  # how a draw is shown: the Gradio page's look
    files["draw"] = "draw.css"
    if info.get("history"):  # the student's curve, as the Gradio page's Model tab draws it (no learning rate)
        training_figure(info["history"]).savefig(out / "training_curve.png")
        training_figure(info["history"], phone=True).savefig(out / "training_curve_phone.png")
        files["curve"], files["curve_phone"] = "training_curve.png", "training_curve_phone.png"
    inputs, outputs = io_names(model.config.num_layers)
    sizes = {k: (out / v).stat().st_size for k, v in files.items()}
    packed = {k: pack(out / files[k]).name for k in ("model", "small") if k in files}  # what the page fetches
    packed_sizes = {k: (out / v).stat().st_size for k, v in packed.items()}
    manifest = {"format": "lm-web-model", "files": files, "sizes": sizes, "packed": packed,
                "packed_sizes": packed_sizes, "small_kind": small, "inputs": inputs,
                "outputs": outputs, "layer_sizes": model.config.layer_sizes(), "vocab_size": len(vocab), "opset": OPSET}
    if measure:
        manifest["parity"] = compare(model, vocab, {k: out / files[k] for k in ("model", "small") if k in files})
    manifest["version"] = _digest(out / f for f in [*files.values(), *packed.values()])
    _json(out / "manifest.json", manifest)
    return manifest


def _digest(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def copy_ort(dst) -> Path:
    """onnxruntime-web's ES module and wasm (from `npm ci`) into `dst`."""
    if missing := [n for n in ORT_FILES if not (ORT_DIST / n).is_file()]:
        raise FileNotFoundError(f"{ORT_DIST} lacks {', '.join(missing)}: run `npm ci` in {HERE} first")
    Path(dst).mkdir(parents=True, exist_ok=True)
    for name in ORT_FILES:
        shutil.copyfile(ORT_DIST / name, Path(dst) / name)
    pack(Path(dst) / WASM)  # 14.8 MB -> 3.8 MB: web/js/model.js fetches this one and unpacks it
    return Path(dst)


def write_space(source, out, small: str | None = "float16", measure: bool = True) -> dict:
    """A complete static Space: web/'s files, onnxruntime-web, the exported model, a README with `sdk: static`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):  # only an earlier export is replaced, never some other folder
        readme = out / "README.md"
        if not (readme.is_file() and "sdk: static" in readme.read_text(encoding="utf-8", errors="replace")):
            raise ValueError(f"{out} is not empty and is not a static Space folder written by export.py")
        shutil.rmtree(out)
    shutil.copytree(WEB, out, ignore=shutil.ignore_patterns("model", "ort", ".*", "space-readme.md"))
    copy_ort(out / "ort")
    manifest = write_model_folder(source, out / "model", small, measure)
    sw = out / "sw.js"  # its cache is named after everything else in the folder: a new export, a new cache
    version = _digest(p for p in out.rglob("*") if p.is_file() and p != sw)
    sw.write_text(sw.read_text(encoding="utf-8").replace('"dev";', f'"{version}";', 1), encoding="utf-8")
    readme = (WEB / "space-readme.md").read_text(encoding="utf-8")  # front matter: sdk: static
    (out / "README.md").write_text(readme.format(name=lm.model_info(source).get("name") or "an LSTM"), encoding="utf-8")
    return manifest


# ------------------------------------------------------------------------------------------- CLI
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(HERE / "assets" / "oz-lstm"), help="model folder or Hub repo id")
    parser.add_argument("--out", help="where to write (default: web/model; with --space, dist/web-space)")
    parser.add_argument("--space", action="store_true", help="write a whole static Space folder (web/, ort, model)")
    parser.add_argument("--small", choices=[*SMALL_KINDS, "none"], default="float16",
                        help="the smaller variant to write beside the float32 model (default float16)")
    parser.add_argument("--no-measure", action="store_true", help="skip the ONNX Runtime parity measurement")
    args = parser.parse_args(argv)
    small, measure = (None if args.small == "none" else args.small), not args.no_measure
    out = Path(args.out or (HERE / "dist" / "web-space" if args.space else WEB / "model"))
    try:
        manifest = (write_space if args.space else write_model_folder)(args.model, out, small, measure)
        if not args.space and args.out is None:
            copy_ort(WEB / "ort")  # the page in web/ runs as it is
    except (OSError, ValueError) as e:
        sys.exit(f"export.py: error: {' '.join(str(e).split())}")
    print(f"wrote {out}: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in manifest["sizes"].items()))
    for name, m in manifest.get("parity", {}).items():
        print(f"  {name}: max |logit diff| {m['max_logit_diff']:.2e}, max |prob diff| {m['max_prob_diff']:.2e} "
              f"over {m['steps']} steps; {m['ms_per_step_ort_python']} ms/step in onnxruntime (Python, 1 thread)")


if __name__ == "__main__":
    main()
