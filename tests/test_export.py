"""export.py: the ONNX step graph against PyTorch (onnxruntime, Python), the smaller variant, the page's
files, the static Space folder; and, with node, the page's JavaScript tokenizer and detokenizer against
lm with the tables export.py writes for them.

Parity: logits within 1e-4 of PyTorch's `model.step` over a 100-token run carrying the state, on tiny
models built here (tied and untied, one and two layers) and on the bundled assets/oz-lstm.
Skipped without onnx/onnxruntime (or node for the JS tests), unless `CI` is set: then they must run.
"""

import gzip
import json
import random
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import export  # noqa: E402
import lm  # noqa: E402
import onnx_step  # noqa: E402
from tests.conftest import build_vocab, make_model  # noqa: E402
from tests.node_helpers import js, need, node  # noqa: E402

BUNDLED = ROOT / "assets" / "oz-lstm"
PROMPTS = ["The lion was afraid, but", "Once upon a time, in a castle made of glass,",
           "The wizard looked at the map and said "]




@pytest.fixture(autouse=True)
def _onnx():
    for name in ("onnx", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            need(False, f"{name} is not installed (pip install -r requirements-dev.txt)")






# ------------------------------------------------------------------------------------ ONNX parity
def _run_both(model, path, ids):
    """Logits (T, V) of PyTorch's model.step and of onnxruntime on `path`, each carrying its own state."""
    sess, sizes = onnx_step.session(path), model.config.layer_sizes()
    hidden, state = model.init_hidden(1), [np.zeros((1, n), np.float32) for n in sizes for _ in "hc"]
    names = onnx_step.io_names(len(sizes))[0]
    ours, theirs = [], []
    for token in ids:
        logits, hidden = model.step(torch.tensor([token]), hidden)
        ours.append(logits[0].numpy().copy())
        out, *state = sess.run(None, dict(zip(names, [np.array([token]), *state])))
        theirs.append(out[0])
    return np.stack(ours), np.stack(theirs)


@pytest.mark.parametrize("options", [{}, {"tie_weights": True}, {"num_layers": 1}])
def test_small_model_parity_over_100_steps(tmp_path, options):
    vocab = build_vocab()
    with torch.random.fork_rng(devices=[]):
        layers = options.pop("num_layers", 2)
        torch.manual_seed(3)
        model = lm.LSTMLanguageModel(lm.LMConfig(len(vocab), 16, 24, layers, 0.0, **options)).eval()
        for p in model.parameters():  # weights big enough that the state matters
            p.data.uniform_(-0.6, 0.6)
    path = onnx_step.export_onnx(model, tmp_path / "m.onnx")
    ids = torch.randint(0, len(vocab), (100,), generator=torch.Generator().manual_seed(0)).tolist()
    ours, theirs = _run_both(model, path, ids)
    assert np.abs(ours - theirs).max() < 1e-4
    assert np.abs(ours[1:] - ours[:-1]).max() > 0.1  # a real run: the state changes what comes out


def test_batch_is_free_and_rows_are_independent(tmp_path):
    model = make_model(len(build_vocab()), seed=4).eval()
    sess = onnx_step.session(onnx_step.export_onnx(model, tmp_path / "m.onnx"))
    sizes, names = model.config.layer_sizes(), onnx_step.io_names(model.config.num_layers)[0]
    state = [np.random.default_rng(0).normal(size=(3, n)).astype(np.float32) for n in sizes for _ in "hc"]
    logits, *_ = sess.run(None, dict(zip(names, [np.array([1, 2, 3]), *state])))
    pairs = zip(state[0::2], state[1::2])
    hidden = [(torch.from_numpy(h)[None], torch.from_numpy(c)[None]) for h, c in pairs]
    expected, _ = model.step(torch.tensor([1, 2, 3]), hidden)
    assert np.abs(logits - expected.numpy()).max() < 1e-4


@pytest.fixture(scope="module")
def bundled_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled")
    return out, export.write_model_folder(BUNDLED, out, small="float16", measure=True)


def test_bundled_parity_sizes_and_small_variant(bundled_export, tmp_path):
    out, manifest = bundled_export
    parity = manifest["parity"]
    assert parity["model"]["steps"] >= 100 and parity["model"]["max_logit_diff"] < 1e-4
    assert manifest["sizes"]["model"] <= 25e6  # the page's download target for float32
    assert manifest["sizes"]["small"] < 0.55 * manifest["sizes"]["model"]
    assert parity["small"]["max_prob_diff"] < 1e-3  # measured: 6.2e-5 for float16
    int8 = onnx_step.shrink(out / "model.onnx", tmp_path / "m8.onnx", "int8")
    model, vocab = lm.load_pretrained(BUNDLED)
    measured = onnx_step.compare(model, vocab, {"int8": int8})["int8"]
    assert int8.stat().st_size < 0.3 * manifest["sizes"]["model"] and measured["max_prob_diff"] < 2e-2
    ids = [vocab.eos_index] + vocab.encode(lm.tokenize(PROMPTS[1])) + list(range(2, 100))
    ours, theirs = _run_both(model, out / "model.onnx", ids)  # another 100-token run, not export's own check
    assert np.abs(ours - theirs).max() < 1e-4


def test_bundled_page_files(bundled_export):
    out, manifest = bundled_export
    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    source = json.loads((ROOT / "assets" / "page" / "settings.json").read_text(encoding="utf-8"))
    assert {k: settings[k] for k in source} == source  # the same limits, colours and words as the Gradio page
    assert settings["prompts"][0] and settings["temperature_colours"]["0"].startswith("#")
    assert "Perplexity" in settings["texts"]["model"] and "<h3>" in settings["texts"]["explanation"]
    words = json.loads((out / "words.json").read_text(encoding="utf-8"))
    _, vocab = lm.load_pretrained(BUNDLED)
    assert words["itos"] == vocab.itos and words["shown"][vocab["dorothy"]] == "Dorothy"
    assert words["capital"][vocab["the"]] == "The" and words["shown"][vocab["i"]] == "I"
    config = lm.hub.read_config(BUNDLED / "config.json")
    assert manifest["inputs"][:3] == ["token", "h0", "c0"] and manifest["layer_sizes"] == config.layer_sizes()
    assert all((out / f).is_file() for f in manifest["files"].values())
    for kind, packed in manifest["packed"].items():  # what the page downloads: the same bytes, gzipped
        assert gzip.decompress((out / packed).read_bytes()) == (out / manifest["files"][kind]).read_bytes()
        assert manifest["packed_sizes"][kind] == (out / packed).stat().st_size


def test_space_folder_and_cli(tmp_path, capsys):
    need((export.ORT_DIST / export.ORT_FILES[-1]).is_file(), "node_modules/onnxruntime-web is missing (npm ci)")
    out = tmp_path / "space"
    export.main(["--model", str(BUNDLED), "--space", "--out", str(out), "--small", "none", "--no-measure"])
    assert f"wrote {out}: model " in capsys.readouterr().out
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n") and "\nsdk: static\n" in readme and "app_file: index.html" in readme
    for name in ["index.html", "sw.js", "js/page.js", "model/manifest.json", *[f"ort/{n}" for n in export.ORT_FILES]]:
        assert (out / name).is_file(), name
    assert 'const VERSION = "dev"' not in (out / "sw.js").read_text()
    assert not (out / "model" / "model-float16.onnx").exists()
    export.main(["--model", str(BUNDLED), "--space", "--out", str(out), "--small", "none", "--no-measure"])  # again
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not a static Space folder"):
        export.main(["--model", str(BUNDLED), "--space", "--out", str(tmp_path / "other"), "--no-measure"])
    assert (tmp_path / "other" / "keep.txt").is_file()
    with pytest.raises(SystemExit, match="export.py: error: .*does not exist"):
        export.main(["--model", str(tmp_path / "missing"), "--out", str(tmp_path / "x")])


# ------------------------------------------------------------------------------ the JavaScript, in node
def adversarial() -> list[str]:
    return ["", " ", "\t\n", "You've got 2 owls.", 'He said "you\'ve won!"', "<br />x<BR />y<br  />z<br/>", "a<br />b",
            "ΑΣ", "ΑΣ.", "ΣΑΣ ΣΣ", "Α\u0301Σ", "ΑΣ\u0301", "A\u00adΣ", "'Σ'", "ὈΔΥΣΣΕΎΣ", "İstanbul", "STRASSE ẞ ß",
            "ﬁne ǅungla", "Ǆ", "𐐀𐐁 𞤀", "Ⅻ ⓐⒶ", "Ꭰ ꭰ", "don't, can't; won't: (ok)?!",
            "a\u00a0b\u2028c\x1cd\x85e\ufeff f",
            "\u180e\u200b\u3000x", "“Quoted” ‘single’ «guillemets»", "3.14, 1,000 and 42!", "e\u0301 é", "👩‍👩‍👧 🇫🇷",
            "tab\tnew\rline\x0bvt\x0cff", "((()))", "'''", '""', "...", "Mr. O'Neil's", "İİ", "ǰ̌", "ΐ", "K Å"]


def generated_corpus(n: int = 1500, seed: int = 0) -> list[str]:
    """Lines mixing words, punctuation, quotes, <br />, digits and characters from all over Unicode."""
    rng = random.Random(seed)
    words = ["Dorothy", "OZ", "the", "Scarecrow's", "don't", "ÉTÉ", "Straße", "ΣΟΦΙΑ", "İzmir", "naïve", "Москва",
             "東京", "x²", "ǅ", "ﬀ", "𐐔𐐯", "🦁", "Ω", "ꞵ", "Ἀθῆναι"]
    marks = [",", ".", "!", "?", ";", ":", "(", ")", "'", '"', "“", "”", "‘", "’", "<br />", "<BR />", "-", "—", "…",
             "\u00a0", "\u2009", "\t", "  ", "\u0301", "\u200d"]
    singles = [c for c in range(0x20, 0x30000) if unicodedata.category(chr(c))[0] in "LMNPSZ"]
    lines = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 14)):
            roll = rng.random()
            if roll < 0.45:
                parts.append(rng.choice(words))
            elif roll < 0.7:
                parts.append(rng.choice(marks))
            elif roll < 0.85:
                parts.append(str(rng.randint(0, 10**rng.randint(1, 6))))
            else:
                parts.append("".join(chr(rng.choice(singles)) for _ in range(rng.randint(1, 4))))
        lines.append("".join(p + rng.choice(["", " ", " ", "  "]) for p in parts))
    return lines


def random_codepoints(n: int = 3000, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return ["".join(chr(c) for c in (rng.randrange(0x110000) for _ in range(24)) if not 0xD800 <= c <= 0xDFFF)
            for _ in range(n)]


TOKENIZE_JS = """
import { readFileSync } from "node:fs";
const { Tokenizer } = await import(process.argv[1]);
const t = new Tokenizer(JSON.parse(readFileSync(process.argv[2], "utf8")));
const strings = JSON.parse(readFileSync(process.argv[3], "utf8"));
process.stdout.write(JSON.stringify(strings.map((s) => t.tokenize(s))));
"""


def test_js_tokenizer_equals_lm_tokenize(tmp_path):
    (tmp_path / "tables.json").write_text(json.dumps(export.tokenizer_tables()), encoding="utf-8")
    strings = adversarial() + generated_corpus() + random_codepoints()
    (tmp_path / "strings.json").write_text(json.dumps(strings), encoding="utf-8")
    got = json.loads(node(TOKENIZE_JS, js("tokenizer.js"), tmp_path / "tables.json", tmp_path / "strings.json"))
    wrong = [(s, lm.tokenize(s), g) for s, g in zip(strings, got) if lm.tokenize(s) != g]
    assert len(got) == len(strings) and not wrong, wrong[:5]


DETOKENIZE_JS = """
import { readFileSync } from "node:fs";
const { Words, Story, detokenize } = await import(process.argv[1]);
const { Tokenizer } = await import(process.argv[2]);
const words = new Words(JSON.parse(readFileSync(process.argv[3], "utf8")));
const tok = new Tokenizer(JSON.parse(readFileSync(process.argv[4], "utf8")));
const cases = JSON.parse(readFileSync(process.argv[5], "utf8"));
process.stdout.write(JSON.stringify(cases.map(([prompt, tokens]) => {
  const story = new Story(prompt, tok.tokenize(prompt), words, tok);
  tokens.forEach((t) => story.add(t));
  return [detokenize(tokens, words), story.text];
})));
"""


def test_js_detokenize_equals_lm(tmp_path):
    _, vocab = lm.load_pretrained(BUNDLED)
    rng = random.Random(2)
    common = vocab.itos[1:300] + [".", ",", "'", "s", "t", "(", ")", "!", "?", "i", "<eos>", "said", "<eos>"]
    cases = [(rng.choice(PROMPTS + ["", "Hello ", "It was.", "(", "The end. \n", "Dorothy's", "He said", "He said:",
                                    "He said: ", 'He said, "', "He said, “", "It was '", '"Go?"', "dogs'"]),
              [rng.choice(common) for _ in range(rng.randint(1, 40))]) for _ in range(400)]
    cases = [(p.replace("\n", " "), t) for p, t in cases]  # what page_input passes on
    cases += [(p, ["<eos>", "go"]) for p in ("He said", "He said:", "He said: ", "He said:  ")]  # the colon typed
    cases += [("Oh", ["!", "cried", "dorothy", ".", "where", "?", "'", "asked", "he", "!", "the", "lion"]),
              ("Where?", ["asked", "the", "lion", "!", "<eos>", "cried", "!", "cried"]),  # lower case after ! and ?
              ("Cap'n", ["bill", "'", "s", "o", "'", "clock", "cap", "'", "n"]),  # joined after an apostrophe
              ("", ["'", "course", "<eos>", "'", "tis", "so", "'", "tis"])]  # an apostrophe that opens
    (tmp_path / "words.json").write_text(json.dumps(export.words_payload(vocab)), encoding="utf-8")
    (tmp_path / "tables.json").write_text(json.dumps(export.tokenizer_tables()), encoding="utf-8")
    (tmp_path / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    got = json.loads(node(DETOKENIZE_JS, js("text.js"), js("tokenizer.js"), tmp_path / "words.json",
                           tmp_path / "tables.json", tmp_path / "cases.json"))
    for (prompt, tokens), (plain, text) in zip(cases, got):
        g = lm.Generation(prompt, lm.tokenize(prompt), tokens=tokens, printing=vocab.printing)
        assert plain == lm.detokenize(tokens, vocab.printing)
        assert text == g.text, (prompt, tokens)
    assert "said" in vocab.colons and sum(":\n\n" in text for _, text in got) >= 5  # "he said:" before a break
    typed = ["He said:\n\nGo", "He said:\n\nGo", "He said: \n\nGo", "He said:  \n\nGo"]
    assert [text for _, text in got[-8:-4]] == typed
    assert [text for _, text in got[-4:]] == ["Oh! cried Dorothy. Where?' asked he! The Lion",
                                              "Where? asked the Lion!\n\nCried! cried", "Cap'n Bill's o'clock Cap'n",
                                              "'Course\n\n'Tis so' tis"]


