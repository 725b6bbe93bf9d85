"""Profiles and ``--set`` overrides: the resolved mapping a spec is validated as.

- ``profiles.<name>`` is a partial spec deep-merged over the base: mappings merge key by key,
  any other value (lists included) replaces. A profile may have any name the spec gives it
  (letters, digits, ``_``, ``-``: :data:`runner.spec.PROFILE_NAME_PATTERN`). ``profile=None`` is
  the base alone; ``default`` falls back to the base when the spec does not define it; any other
  undefined profile is an error naming the defined ones (with the closest as a suggestion).
  The resolved mapping keeps ``profiles`` so that it validates with the same
  :class:`runner.spec.Spec`.
- ``--set a.b.c=value`` overrides apply in order after the profile. The value is YAML (flow
  style) read by the same loader: ``500`` is an int, ``[0, 1]`` a list, ``1e-3`` a float, an
  empty value is null. Path parts are split on dots; a list is indexed by number
  (``claims.0.op``); a mapping key that itself contains dots (``optimizers.lm_0.5``,
  ``sweep.grid.model.alpha``) is matched against the existing keys, longest first, and in a
  mapping of plain values (``sweep.grid``, ``where``) the rest of the path is one key.
  A missing intermediate is created only where the schema names a section (``sweep`` in a
  spec without one); any other missing or non-mapping parent is an error. ``profiles``
  cannot be overridden (use ``--profile``).
- Every value keeps its origin (the file and line it came from, or the ``--set`` that set it),
  so that a validation error is reported where its value came from.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from runner.load.problems import (
    ROOT,
    KeyPath,
    Origin,
    Position,
    SpecError,
    SpecProblem,
    describe,
    dotted,
    error_at,
    unknown_key,
)
from runner.load.schema import (
    child_type,
    free_leaf_mapping,
    holds_mapping,
    is_model,
    type_for_value,
)
from runner.load.yaml_positions import EMPTY, drop_below, parse_text
from runner.spec import Spec


def _merge(
    target: dict[str, Any],
    overlay: Mapping[str, Any],
    path: KeyPath,
    source: KeyPath,
    positions: Mapping[KeyPath, Position],
    origins: dict[KeyPath, Origin],
    file: str,
) -> None:
    """Deep-merges ``overlay`` (found at ``source`` in the file) into ``target`` (at ``path``):
    mappings key by key, anything else replaces; origins follow the values."""
    for key, value in overlay.items():
        here, there = path + (key,), source + (key,)
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            _merge(target[key], value, here, there, positions, origins, file)
            continue
        target[key] = copy.deepcopy(value)
        drop_below(origins, here)
        n = len(there)
        for where, (line, col) in positions.items():
            if where[:n] == there:
                origins[here + where[n:]] = (file, line, col)


def apply_profile(
    data: dict[str, Any],
    positions: Mapping[KeyPath, Position],
    file: str,
    profile: str | None,
    resolved: dict[str, Any],
    origins: dict[KeyPath, Origin],
) -> bool:
    """Merges ``profiles.<profile>`` into ``resolved``; whether a profile was applied."""
    if profile is None:
        return False
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        return False  # validation reports the malformed ``profiles``
    if profile not in profiles:
        if profile == "default":
            return False
        line, col = positions.get(("profiles",), (None, None))
        defined = ", ".join(map(str, profiles)) or "none"
        close = difflib.get_close_matches(profile, [str(p) for p in profiles], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"profile {profile!r} is not defined{hint} (this spec defines: {defined})"
        raise error_at(file, (line, col), "profiles", message)
    body = profiles[profile]
    where = ("profiles", profile)
    line, col = positions.get(where, (None, None))
    if body is None:
        return True  # ``default:`` with nothing under it
    if not isinstance(body, dict):
        message = f"a profile is a mapping of spec keys, got {describe(body)}"
        raise error_at(file, (line, col), dotted(where), message)
    if "profiles" in body:
        line, col = positions.get(where + ("profiles",), (line, col))
        message = "a profile cannot define profiles"
        raise error_at(file, (line, col), dotted(where + ("profiles",)), message)
    _merge(resolved, body, (), where, positions, origins, file)
    return True


def _split_key(parts: list[str], container: dict[str, Any], tp: Any) -> tuple[str, int]:
    """The key that the next override path parts name in a mapping, and how many parts it used:
    the longest dotted join that is an existing key, else the rest in a mapping of plain values,
    else one part."""
    for n in range(len(parts), 1, -1):
        joined = ".".join(parts[:n])
        if joined in container:
            return joined, n
    if free_leaf_mapping(tp):
        return ".".join(parts), len(parts)
    return parts[0], 1


def apply_override(
    text: str, resolved: dict[str, Any], origins: dict[KeyPath, Origin]
) -> list[SpecProblem]:
    """Sets one ``a.b.c=value`` in ``resolved``; the problems it has (none when applied)."""
    label = f"--set {text}"
    key_text, sep, raw = text.partition("=")
    key_text = key_text.strip()

    def fail(path: KeyPath | str, message: str) -> list[SpecProblem]:
        shown = path if isinstance(path, str) else dotted(path)
        return [SpecProblem(label, None, None, shown, message)]

    if not sep:
        return fail(key_text or ROOT, "expected KEY=VALUE, e.g. train.steps=500")
    parts = key_text.split(".")
    if not key_text or any(not part.strip() for part in parts):
        return fail(key_text or ROOT, "the key path has an empty part (KEY=VALUE, e.g. a.b=1)")
    parts = [part.strip() for part in parts]
    if parts[0] == "profiles":
        return fail(key_text, "profiles cannot be set with --set; choose one with --profile")
    try:
        value, _ = parse_text(raw, label) if raw.strip() else (None, {})
    except SpecError as error:
        return [
            SpecProblem(label, None, None, key_text, f"value: {p.message}") for p in error.problems
        ]
    if value is EMPTY:
        value = None
    container: Any = resolved
    tp: Any = Spec
    path: KeyPath = ()
    created: list[KeyPath] = []
    while True:
        here = type_for_value(tp, container)
        key: str | int
        if isinstance(container, list):
            part = parts[0]
            if not part.isdigit():
                return fail(path, f"{dotted(path)} is a list: index it with a number, not {part!r}")
            key, used = int(part), 1
            if key >= len(container):
                return fail(
                    path + (key,),
                    f"index {key} is out of range: {dotted(path)} has {len(container)} item(s)",
                )
        elif isinstance(container, dict):
            key, used = _split_key(parts, container, here)
        else:
            return fail(
                path,
                f"{dotted(path)} is {describe(container)}, not a mapping or list; "
                f"cannot set {parts[0]!r} inside it",
            )
        parts = parts[used:]
        child_tp = child_type(here, key)
        if not parts:
            container[key] = value
            break
        if isinstance(container, dict) and key not in container:
            if is_model(here) and key not in here.model_fields:
                return fail(path + (key,), unknown_key(key, list(here.model_fields)))
            if is_model(here) and holds_mapping(child_tp):
                container[key] = {}
                created.append(path + (key,))
            else:
                existing = ", ".join(map(str, container)) or "nothing"
                close = difflib.get_close_matches(str(key), [str(k) for k in container], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return fail(
                    path + (key,), f"no {key!r} in {dotted(path)}{hint} (it has: {existing})"
                )
        path += (key,)
        container = container[key]
        tp = child_tp
    full = path + (key,)
    drop_below(origins, full)
    for where in created + [full]:
        origins[where] = (label, None, None)
    return []
