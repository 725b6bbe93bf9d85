"""Where the time of a jitted function goes: a ``jax.profiler`` trace of a few calls, each XLA
operation's time attributed to the first of a list of named scopes (``jax.named_scope``) found in
its ``op_name`` metadata, and a count of the matrix products of given shapes in the compiled HLO.

Used by ``benchmarks/mnist.py --lm-step``. Only the standard library at load time (the scripts'
rule, see ``common.py``); jax is imported inside the functions.
"""

from __future__ import annotations

import glob
import gzip
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

# `%name = f32[200,128]{1,0} fusion(%a, %b), ..., metadata={op_name="jit(f)/..." ...}`
_INSTRUCTION = re.compile(
    r"^\s*(?:ROOT )?%(\S+) = (\([^=]*?\)|\S+?)(?:\{[^}]*\})? ([\w-]+)\(([^)]*)\)(.*)$"
)
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_SHAPE = re.compile(r"^\w+\[([\d,]*)\]")


def _shape(text: str) -> tuple[int, ...] | None:
    match = _SHAPE.match(text)
    if match is None:
        return None
    return tuple(int(d) for d in match.group(1).split(",") if d)


def instructions(hlo_text: str) -> dict[str, dict[str, Any]]:
    """``name -> {shape, opcode, operands, op_name, computation}`` for every HLO instruction."""
    table: dict[str, dict[str, Any]] = {}
    computation = ""
    for line in hlo_text.splitlines():
        if line and not line.startswith(" ") and "{" in line:
            computation = line.split(" ", 1)[0].lstrip("%")
        match = _INSTRUCTION.match(line)
        if match is None:
            continue
        name, shape, opcode, operands, rest = match.groups()
        op_name = _OP_NAME.search(rest)
        table[name] = {
            "shape": _shape(shape),
            "opcode": opcode,
            "operands": [o.strip().lstrip("%") for o in operands.split(",") if o.strip()],
            "op_name": op_name.group(1) if op_name else "",
            "computation": computation,
        }
    return table


def scope_of(op_name: str, scopes: Sequence[str]) -> str:
    """The first of ``scopes`` that is a component of ``op_name`` (``other`` if none)."""
    parts = set(op_name.split("/"))
    return next((scope for scope in scopes if scope in parts), "other")


def _fusion_calls(hlo_text: str) -> dict[str, str]:
    calls = {}
    for line in hlo_text.splitlines():
        match = _INSTRUCTION.match(line)
        if match and match.group(3) == "fusion":
            called = re.search(r"calls=%([^,\s]+)", match.group(5))
            if called:
                calls[match.group(1)] = called.group(1)
    return calls


def count_products(
    hlo_text: str, operand_shape: tuple[int, ...], output_shape: tuple[int, ...]
) -> int:
    """How many matrix products (a ``dot``, or a fusion whose computation holds one) take an
    operand of ``operand_shape`` (either orientation) and give ``output_shape`` (either
    orientation): e.g. the first layer's forward passes, ``(n, d_in) -> (n, hidden)``, as XLA
    left them after merging identical ones."""
    table = instructions(hlo_text)
    with_dot = {entry["computation"] for entry in table.values() if entry["opcode"] == "dot"}
    calls = _fusion_calls(hlo_text)
    fused = set(calls.values())
    outputs = {output_shape, output_shape[::-1]}
    inputs = {operand_shape, operand_shape[::-1]}
    count = 0
    for name, entry in table.items():
        if entry["opcode"] == "dot" and entry["computation"] in fused:
            continue  # inside a fusion: counted through the fusion instruction
        is_product = entry["opcode"] == "dot" or calls.get(name) in with_dot
        if not is_product or entry["shape"] not in outputs:
            continue
        operand_shapes = {table[o]["shape"] for o in entry["operands"] if o in table}
        count += bool(operand_shapes & inputs)
    return count


def profile(
    compiled: Callable[..., Any], args: tuple, scopes: Sequence[str], calls: int = 5
) -> dict[str, Any]:
    """Milliseconds per call of ``compiled(*args)`` by scope, from a profiler trace.

    ``compiled`` is a compiled executable (``jax.jit(f).lower(*args).compile()``), called
    ``calls`` times under ``jax.profiler.trace``. Each operation's time goes to :func:`scope_of`
    its ``op_name``; ``top_ops`` lists the ten most expensive operations.
    """
    import jax

    text = compiled.as_text()
    table = instructions(text)
    jax.block_until_ready(compiled(*args))
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder, create_perfetto_trace=True):
            for _ in range(calls):
                jax.block_until_ready(compiled(*args))
        (path,) = glob.glob(f"{folder}/**/perfetto_trace.json.gz", recursive=True)
        with gzip.open(path) as handle:
            events = json.load(handle)["traceEvents"]
    by_scope: dict[str, float] = {}
    by_op: dict[str, float] = {}
    for event in events:
        name = event.get("name")
        if event.get("ph") != "X" or name not in table:
            continue
        ms = event.get("dur", 0) / 1e3 / calls
        scope = scope_of(table[name]["op_name"], scopes)
        by_scope[scope] = by_scope.get(scope, 0.0) + ms
        by_op[name] = by_op.get(name, 0.0) + ms
    top = sorted(by_op.items(), key=lambda item: -item[1])[:10]
    return {
        "ms_by_scope": by_scope,
        "ms_ops": sum(by_scope.values()),
        "top_ops": [
            {"op": op, "ms": ms, "scope": scope_of(table[op]["op_name"], scopes)} for op, ms in top
        ],
    }
