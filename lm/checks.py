"""Argument checks shared by the package: one ValueError naming the argument, before any work."""

import math


def is_int(value) -> bool:
    """An int that is not a bool (True is not a number of things)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(name: str, value, low: int = 0, high: int | None = None) -> int:
    """`value` as an int in [low, high] (high None: no upper bound), else a ValueError naming `name`."""
    if not is_int(value) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def check_number(name: str, value, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or (low, high]), else a ValueError naming `name`."""
    ok = is_number(value) and math.isfinite(value) and low <= value <= high and not (low_open and value == low)
    if not ok:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
        where = "in " if math.isfinite(high) else ""
        raise ValueError(f"{name} must be a finite number {where}{bounds}, got {value!r}")
    return float(value)
