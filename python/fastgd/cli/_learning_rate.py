"""``--learning-rate SPEC``: ``NAME[:KEY=VALUE,...]`` → the estimators' ``learning_rate``,
``eta0`` and ``power_t`` parameters, or a :mod:`fastgd.schedules` object.

- scikit-learn's names, with the estimator parameters they read: ``auto``, ``optimal``,
  ``constant:eta0=0.1``, ``invscaling:eta0=0.01,power_t=0.25``, ``adaptive:eta0=0.1``;
- schedules, with their constructor's arguments (``eta0`` is accepted for ``lr``):
  ``cosine:lr=0.1[,decay_steps=N,final_lr=0]``, ``linear:lr=0.1[,decay_steps,final_lr,power]``,
  ``exponential:lr=0.1,decay_rate=0.5[,decay_steps,staircase]``,
  ``step:lr=0.1,step_size=N[,gamma]``, ``inverse:lr=0.1[,power_t]``,
  ``onecycle:lr=0.1[,total_steps,pct_start,div_factor,final_div_factor]``. ``decay_steps``
  (cosine, linear) and ``total_steps`` (onecycle) default to the fit's steps (epochs × batches
  per epoch), so the decay ends with training.

Any spec takes ``warmup=N``: N steps of linear warmup in front (:class:`fastgd.schedules.Warmup`).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from .. import schedules

ESTIMATOR_RATES = {
    "auto": (),
    "optimal": (),
    "constant": ("eta0",),
    "invscaling": ("eta0", "power_t"),
    "adaptive": ("eta0",),
}
SCHEDULES = {
    "cosine": schedules.CosineDecay,
    "linear": schedules.LinearDecay,
    "exponential": schedules.ExponentialDecay,
    "step": schedules.StepDecay,
    "inverse": schedules.InverseScaling,
    "onecycle": schedules.OneCycle,
}
# The argument of each schedule that, left out, becomes the fit's number of steps.
_TO_THE_END = {"cosine": "decay_steps", "linear": "decay_steps", "onecycle": "total_steps"}
NAMES = (*ESTIMATOR_RATES, *SCHEDULES)


@dataclass
class LearningRate:
    """A parsed spec: its name and its ``key=value`` options (numbers and bools parsed)."""

    name: str
    options: dict = field(default_factory=dict)


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def parse(spec: str) -> LearningRate:
    """The syntax of a spec (ValueError naming what is wrong); values are checked by
    :func:`estimator_params`, which builds the schedule."""
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    if name not in NAMES:
        raise ValueError(f"unknown learning rate {name!r}: one of {', '.join(NAMES)}")
    allowed = {"warmup"}
    if name in ESTIMATOR_RATES:
        allowed |= set(ESTIMATOR_RATES[name])
    else:
        allowed |= set(inspect.signature(SCHEDULES[name]).parameters) | {"eta0"}
    options = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"{item!r} in {spec!r} is not KEY=VALUE")
        if key not in allowed:
            raise ValueError(f"{name} takes {', '.join(sorted(allowed))}; got {key!r}")
        try:
            options[key] = _value(text.strip())
        except ValueError as exc:
            raise ValueError(f"{key} in {spec!r}: {exc}") from None
    if "eta0" in options and name in SCHEDULES:
        if "lr" in options:
            raise ValueError(f"{spec!r} gives both lr and eta0 (the same rate)")
        options["lr"] = options.pop("eta0")
    if name in SCHEDULES and "lr" not in options:
        raise ValueError(f"{name} needs its first rate, e.g. {name}:lr=0.1")
    return LearningRate(name, options)


def estimator_params(rate: LearningRate, total_steps: int) -> dict:
    """The estimator parameters of a parsed spec: ``learning_rate`` (a name or a schedule
    object) and ``eta0``/``power_t`` where given. ``total_steps``: the fit's steps."""
    options = dict(rate.options)
    warmup = options.pop("warmup", None)
    if rate.name in ESTIMATOR_RATES:
        if warmup is None:
            return {"learning_rate": rate.name, **options}
        if rate.name != "constant":
            raise ValueError(f"warmup goes with constant or a schedule, not {rate.name}")
        return {
            "learning_rate": schedules.Warmup(schedules.Constant(options.get("eta0", 0.01)), warmup)
        }
    end = _TO_THE_END.get(rate.name)
    if end is not None and end not in options:
        options[end] = max(1, total_steps - (warmup or 0))
    schedule = SCHEDULES[rate.name](**options)
    if warmup is not None:
        schedule = schedules.Warmup(schedule, warmup)
    return {"learning_rate": schedule}
