"""The claim reference, ``docs/claims.md``, generated from the claim registry.

``runner claims --markdown > docs/claims.md`` writes it; ``tests/test_docs.py`` regenerates it in
memory and fails when the committed file differs. For every kind of
:data:`runner.kinds.claims.CLAIM_KINDS` (through :func:`runner.kinds.claims.describe_kinds`) it
gives the summary, the parameters with types, defaults and meanings (the fields' descriptions), a
minimal example and the two sentences the kind renders for that example: the prescriptive one
(what the claim expects, from its parameters) and the diagnostic one (what was observed), the
latter from judging the example on synthetic cells (:func:`synthetic_judgement`), so it shows the
form of a real report's sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml

from runner.kinds.claims import ClaimBase, describe_kinds, judge
from runner.kinds.fields import default_text, parameters, table
from runner.results import CellResult, ClaimResult
from runner.spec import Spec

COMMAND = "runner claims --markdown > docs/claims.md"

# --- synthetic cells for the diagnostic sentence -------------------------------------------------

STEPS = np.arange(0, 2001, 50)
LABELS = ["0", "1", "2", "3", "4"]
RATES = {  # per-step decay rates of the five groups: GD spectrally biased, GN uniform
    "gd": [0.008, 0.004, 0.002, 0.001, 0.0005],
    "lm": [0.01, 0.008, 0.005, 0.003, 0.002],
    "gn": [0.0101, 0.0102, 0.0099, 0.0098, 0.01],
}
AXIS_VALUES = [1.0, 2.0, 4.0]
SWEEP_ATTRIBUTES = ("axis", "for_each")  # claim parameters that name a sweep key
# Observable definitions for the names an example refers to, tried in turn (the order favours
# the one the name suggests: "rate" a decay rate, "reach"/"cross" a crossing); the first that
# validates and judges PASS or FAIL is shown.
CANDIDATES: dict[str, dict[str, Any]] = {
    "final": {"kind": "final", "metric": "fft_error", "relative_to_initial": True},
    "rate": {"kind": "decay_rate", "metric": "fft_error", "window": [100, 1000]},
    "crossing": {"kind": "crossing", "metric": "loss", "below": 0.1, "relative_to_initial": True},
}
HINTS = {"rate": "rate", "reach": "crossing", "cross": "crossing"}
SYNTHETIC_TEXT = (
    "synthetic cells: optimizers `gd`, `lm`, `gn`, seeds 0-2, five groups whose error decays as "
    "`exp(-r t)` (GD's rates spread over a factor 16, GN's within 4%), rates scaled by "
    "`alpha^-0.1` along a sweep axis"
)


def _wheres(example: dict[str, Any]) -> list[dict[str, Any]]:
    wheres = [example.get("where") or {}]
    for side in ("left", "right"):
        if isinstance(example.get(side), dict):
            wheres.append(example[side].get("where") or {})
    wheres.extend(example.get("sequence") or [])
    return [w for w in wheres if isinstance(w, dict)]


def _observable_names(example: dict[str, Any]) -> list[str]:
    names = [example.get("observable")]
    for side in ("left", "right"):
        if isinstance(example.get(side), dict):
            names.append(example[side].get("observable"))
    return [n for n in dict.fromkeys(names) if isinstance(n, str)]


def _cells(example: dict[str, Any]) -> list[CellResult]:
    """Cells for every optimizer the example names (and gd, lm, gn), seeds 0-2, at every value of
    its sweep attributes and at the fixed values its ``where`` clauses name."""
    fixed: dict[str, Any] = {}
    optimizers = list(RATES)
    for where in _wheres(example):
        for key, value in where.items():
            if key == "optimizer":
                optimizers += [value] if value not in optimizers else []
            elif key != "seed":
                fixed[key] = value
    axes = [example[a] for a in SWEEP_ATTRIBUTES if isinstance(example.get(a), str)]
    points = [dict(fixed)]
    for axis in axes:
        points = [{**p, axis: v} for p in points for v in AXIS_VALUES]
    t = np.arange(int(STEPS[-1]) + 1)
    cells = []
    for point in points:
        scale = np.prod([point[a] ** -0.1 for a in axes]) if axes else 1.0
        for optimizer in optimizers:
            for seed in (0, 1, 2):
                rates = np.asarray(RATES.get(optimizer, RATES["lm"])) * scale * (1 + 0.01 * seed)
                suffix = "".join(f"_{k.split('.')[-1]}{v}" for k, v in point.items() if k in axes)
                cells.append(
                    CellResult(
                        cell_id=f"{optimizer}{suffix}_s{seed}",
                        optimizer=str(optimizer),
                        seed=seed,
                        point=dict(point),
                        status="finished",
                        eval_steps=STEPS,
                        metrics={"fft_error": np.exp(-np.outer(STEPS, rates))},
                        groups={"fft_error": LABELS},
                        records={"loss": np.exp(-2 * np.outer(t, rates)).mean(axis=1)},
                        steps_done=int(STEPS[-1]),
                    )
                )
    return cells


def _spec(example: dict[str, Any], observable: dict[str, Any], cells: list[CellResult]) -> Spec:
    grid: dict[str, list[Any]] = {}
    for cell in cells:
        for key, value in cell.point.items():
            if value not in grid.setdefault(key, []):
                grid[key].append(value)
    optimizers = {c.optimizer: {"kind": "gd", "learning_rate": 0.01} for c in cells}
    return Spec.model_validate(
        {
            "name": "synthetic",
            "task": {"kind": "regression_1d"},
            "model": {"kind": "mlp", "hidden": [8]},
            "optimizers": optimizers,
            "train": {"steps": int(STEPS[-1]), "eval_every": int(STEPS[1])},
            "metrics": [{"kind": "fft_error", "modes": len(LABELS)}],
            "sweep": {"seeds": [0, 1, 2], "grid": grid},
            "observables": {name: observable for name in _observable_names(example)},
            "claims": [example],
        }
    )


def synthetic_judgement(example: dict[str, Any]) -> tuple[ClaimResult | None, dict | None]:
    """The example claim judged on synthetic cells, and the observable definition used (None,
    None when no candidate observable fits the example)."""
    cells = _cells(example)
    names = " ".join(_observable_names(example)).lower()
    hinted = [kind for word, kind in HINTS.items() if word in names]
    order = list(dict.fromkeys([*hinted, *CANDIDATES]))
    fallback: tuple[ClaimResult | None, dict | None] = (None, None)
    for observable in (CANDIDATES[kind] for kind in order):
        try:
            spec = _spec(example, observable, cells)
        except ValueError:  # pydantic's ValidationError: this observable does not fit
            continue
        (result,) = judge(spec, cells)
        if result.verdict in ("PASS", "FAIL"):
            return result, observable
        if fallback[0] is None:
            fallback = (result, observable)
    return fallback


# --- markdown -----------------------------------------------------------------------------------


def _flow(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, default_flow_style=True, sort_keys=False, width=1000).strip()


def _types_section(kinds: list[dict[str, Any]]) -> list[str]:
    """Lines for the models that parameter types name (``Side``): their fields and meanings."""
    from pydantic import BaseModel

    from runner.kinds import claims as claims_package

    names = sorted(
        {
            word
            for kind in kinds
            for param in kind["parameters"]
            for word in param["type"].replace("[", " ").replace("]", " ").split()
        }
    )
    lines = []
    for name in names:
        model = getattr(claims_package, name, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        fields = ", ".join(
            f"`{p['name']}` ("
            + ("required" if p["required"] else f"default {default_text(p)}")
            + (f": {p['description']}" if p["description"] else "")
            + ")"
            for p in parameters(model)
        )
        doc = " ".join((model.__doc__ or "").split())
        lines.append(f"- `{name}`: {doc} Fields: {fields}.")
    return ["", "Types named below:", "", *lines] if lines else []


def _own(param: dict[str, Any], common: dict[str, Any]) -> bool:
    """A kind's own parameter, or a common one it redefines (``seed_spread``'s ``min_seeds``)."""
    base = common.get(param["name"])
    return base is None or param["description"] != (base.description or "")


def claims_markdown() -> str:
    """The text of ``docs/claims.md``."""
    kinds = describe_kinds()
    common = list(ClaimBase.model_fields)
    out = [
        f"<!-- Generated by `{COMMAND}` from the claim registry (runner/kinds/claims/).",
        "     Do not edit by hand: tests/test_docs.py fails when this file is out of date. -->",
        "",
        "# Claim reference",
        "",
        f"Regenerate after changing a claim kind: `{COMMAND}`",
        "",
        "A claim is one entry of a spec's `claims:` list. It selects cells with `where` (keys: "
        "`optimizer`, `seed` and any sweep key, e.g. `{optimizer: gn, model.alpha: 2}`), reads "
        "named observables of those cells (per group: an FFT mode, an NTK eigenmode; a scalar "
        'metric has the single group `""`), combines seeds with `aggregate`, and is judged '
        "PASS, FAIL, INCONCLUSIVE (no matching cell, too few seeds, a missing value) or ERROR. "
        "How to choose a kind and justify its tolerance: [writing-specs.md](writing-specs.md). "
        "The same information on the terminal: `runner claims`.",
        "",
        "Each kind below shows a minimal example and the two sentences the report prints for "
        "it: **expects** (from the parameters alone) and **observed** (here from judging the "
        f"example on {SYNTHETIC_TEXT}; a real run prints the same form with its own numbers).",
        "",
        "Every PASS and FAIL comes with a **margin** in one unit for all kinds: the signed "
        "relative distance of the claim's decisive number `x` to its bound `b`, `(x - b) / |b|` "
        "when `x` must stay above `b`, `(b - x) / |b|` when below (`|x|` instead of `|b|` when "
        "`b = 0`): positive when the condition holds, 0.25 clearing the bound by a quarter of "
        "it. A two-sided condition takes the smaller margin, a claim over groups that of the "
        "group that decides it. Beside it stands its **noise** in the same unit: how far the "
        "decisive number moves between seeds (half its bootstrap 95% interval with 3 or more "
        "seeds, else half its range) plus the observable's numerical error where it has one (a "
        "fitted rate's standard error). A verdict with `|margin| <= noise` is **fragile**: "
        "another seed may flip it; `claims.json` (`noise`, `fragile`, `fragile_reason`), the "
        "console, the report and junit say so. With one seed and no numerical error the noise "
        "is unknown, and the report says that too. Each kind below names its decisive number.",
        "",
        "## Parameters of every kind",
        "",
        "| parameter | type | default | meaning |",
        "|---|---|---|---|",
    ]
    first = {p["name"]: p for p in kinds[0]["parameters"]} if kinds else {}
    out += table([first[name] for name in common if name in first], "parameter")[2:]
    out += _types_section(kinds)
    out += ["", "## Kinds", ""]
    out += [f"- [`{k['kind']}`](#{k['kind']}): {k['summary']}" for k in kinds]
    for kind in kinds:
        out += ["", f"### {kind['kind']}", "", kind["summary"], ""]
        if kind.get("margin"):
            out += [f"Margin: {kind['margin']}.", ""]
        own = [p for p in kind["parameters"] if _own(p, ClaimBase.model_fields)]
        if own:
            out += [*table(own, "parameter"), ""]
        example_yaml = yaml.safe_dump(
            {"claims": [kind["example_data"]]}, sort_keys=False, width=1000
        )
        out += ["Example:", "", "```yaml", example_yaml.rstrip(), "```", ""]
        out += ["Expects:", "", f"> {kind['sentence']}", ""]
        result, observable = synthetic_judgement(kind["example_data"])
        if result is None:
            out.append("Observed: no synthetic observable fits this example.")
        else:
            names = ", ".join(f"`{n}`" for n in _observable_names(kind["example_data"]))
            used = f"; {names} = `{_flow(observable)}`" if names else ""
            out += [
                f"Observed ({result.verdict} on the synthetic cells{used}):",
                "",
                f"> {result.observed_sentence}",
            ]
    return "\n".join(out) + "\n"


__all__ = ["COMMAND", "claims_markdown", "synthetic_judgement"]
