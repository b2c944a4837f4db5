"""The story's colours, read from assets/page/settings.json (what both pages draw), checked for every student:
ordered in lightness, distinct under red-green colour blindness (deuteranopia, protanopia), tritanopia and in a
greyscale print, and dark text legible on each (WCAG contrast).

Colour-vision deficiencies are simulated with colorspacious (Machado, Oliveira & Fernandes 2009, severity 100:
the full dichromacy, the worst case); colour differences are CAM02-UCS distances (about 1 = just noticeable).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

SETTINGS = json.loads((Path(__file__).resolve().parents[1] / "assets" / "page" / "settings.json").read_text("utf-8"))
PALETTES = {name: [b["colour"] for b in SETTINGS[name]] for name in ("prob_bins", "rank_bins")}
VISIONS = {"normal vision": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly",
           "tritanopia": "tritanomaly"}

# A just-noticeable difference is ~1 CAM02-UCS unit for two large patches side by side; for small patches
# (a word's background, a 1 em legend swatch) seen apart, differences need to be many times larger before
# they are named as different colours at a glance. 20 units is the floor here ("clearly distinguishable
# for small text"): the 50%-opacity palette this replaced measured ~8 under deuteranopia (a failure).
MIN_DELTA_E = 20.0
# Greyscale keeps only lightness. Dark text needs the darkest bin at L* >= ~54 (contrast 4.5:1) and the
# lightest must stay visibly tinted (L* <= ~95), so four bins leave ~13 L* per step at best; 10 L* (about
# five JNDs, clearly different greys in print) is the floor.
MIN_GREY_STEP = 10.0
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal-size text


def _rgb(hex_colour: str) -> np.ndarray:
    assert len(hex_colour) == 7 and hex_colour[0] == "#", hex_colour
    return np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])  # (3,) sRGB in [0, 1]


def _seen(hex_colour: str, vision: str | None) -> np.ndarray:
    rgb = _rgb(hex_colour)
    if vision is None:
        return rgb
    cvd = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
    return np.clip(cspace_convert(rgb, cvd, "sRGB1"), 0, 1)


def _lightness(hex_colour: str) -> float:
    return float(cspace_convert(_rgb(hex_colour), "sRGB1", "CIELab")[0])  # L*, 0 black .. 100 white


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance."""
    c = _rgb(hex_colour)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_matches_wcag_known_answers():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic "just fails AA" grey


@pytest.mark.parametrize("name", PALETTES)
@pytest.mark.parametrize("vision", VISIONS)
def test_neighbouring_bins_stay_distinct(name, vision):
    colours = PALETTES[name]
    seen = [_seen(c, VISIONS[vision]) for c in colours]
    for i in range(len(colours) - 1):
        d = float(deltaE(seen[i], seen[i + 1], input_space="sRGB1", uniform_space="CAM02-UCS"))
        assert d >= MIN_DELTA_E, f"{name}: {colours[i]} and {colours[i + 1]} under {vision}: deltaE {d:.1f}"


@pytest.mark.parametrize("name", PALETTES)
def test_lightness_is_ordered_so_a_greyscale_print_keeps_the_order(name):
    lightness = [_lightness(c) for c in PALETTES[name]]
    steps = [a - b for a, b in zip(lightness, lightness[1:])]
    assert min(steps) >= MIN_GREY_STEP, f"{name}: L* {[round(v, 1) for v in lightness]}"  # lightest = most likely


@pytest.mark.parametrize("name", PALETTES)
def test_dark_text_is_legible_on_every_bin(name):
    for colour in PALETTES[name]:
        assert contrast(SETTINGS["text_colour"], colour) >= MIN_CONTRAST, colour


def test_the_checks_catch_the_old_half_transparent_palette():
    """The palette the page drew before (these colours at 50% opacity over white) fails both checks."""
    def half(c):
        mixed = (_rgb(c) + 1) / 2
        return "#" + "".join(f"{round(v * 255):02x}" for v in mixed)

    old = [half(c) for c in ("#4e9bd1", "#8fd19e", "#f6c453", "#ef6f6c")]
    plausible, surprising = (_seen(c, "deuteranomaly") for c in (old[1], old[3]))
    assert deltaE(plausible, surprising, input_space="sRGB1") < MIN_DELTA_E  # the same beige
    lightness = [_lightness(c) for c in old]
    assert not all(a > b for a, b in zip(lightness, lightness[1:]))


def test_the_bins_cover_every_probability_and_rank():
    lows = [b["low"] for b in SETTINGS["prob_bins"]]
    assert lows == sorted(lows, reverse=True) and lows[-1] == 0
    ranks = [b["max"] for b in SETTINGS["rank_bins"]]
    assert ranks[0] == 1 and ranks[-1] is None and ranks[:-1] == sorted(ranks[:-1])
