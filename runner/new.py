"""Starting a spec of one's own: ``runner new NAME [--from SPEC | --template T] [--schema]``.

A new spec is a copy of a commented template (``runner/templates/starter_<T>.yaml``; adding a
template is adding such a file) or of an existing spec, with three edits to its text, comments
kept:

* the top-level ``name:`` line becomes ``name: NAME``;
* the first line is the editor modeline ``# yaml-language-server: $schema=REL``, where ``REL`` is
  the relative path from the new file to the JSON Schema (``runner schema``): the nearest
  ``spec.schema.json`` in the new file's folder or above it (the repository's committed one), or,
  when there is none or ``--schema`` is given, a ``spec.schema.json`` written next to the spec;
* a comment says where the spec started from.

The source is validated before anything is written (every profile, and the base plan), the file
is written atomically and validated again, and an existing file is never overwritten.
Mistakes (an existing file, an unknown template, a bad name, an invalid source) raise
:class:`NewSpecError` or :class:`runner.load.SpecError`; the CLI exits 4 on both.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from runner.load import SpecError, load_spec, validate_profiles
from runner.plan import SweepError, plan
from runner.spec import Spec
from runner.store import atomic_write_text

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_PREFIX = "starter_"
DEFAULT_TEMPLATE = "regression"
SCHEMA_FILE = "spec.schema.json"
MODELINE = "# yaml-language-server: $schema="
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")  # the pattern of Spec.name
_NAME_LINE = re.compile(r"^name:[^\n]*$", re.MULTILINE)
_PLACEHOLDER = "specs/NAME.yaml"  # in a template's comments: replaced by the new file's path


class NewSpecError(Exception):
    """A usage mistake of ``runner new`` (exit 4)."""


@dataclass(frozen=True)
class NewSpec:
    """What :func:`new_spec` wrote: the spec, the schema its modeline points at (and whether that
    schema was written now), the number of cells per profile, and a warning if any."""

    path: Path
    name: str
    source: str
    schema: Path
    schema_written: bool
    cells: dict[str, int]
    warning: str | None = None


def templates() -> dict[str, Path]:
    """Template name -> file: every ``starter_<name>.yaml`` in :data:`TEMPLATE_DIR`."""
    return {
        path.stem.removeprefix(TEMPLATE_PREFIX): path
        for path in sorted(TEMPLATE_DIR.glob(f"{TEMPLATE_PREFIX}*.yaml"))
    }


def schema_text() -> str:
    """The spec JSON Schema as ``runner schema`` prints it."""
    return json.dumps(Spec.model_json_schema(), indent=2) + "\n"


def target(name: str, directory: Path) -> tuple[str, Path]:
    """``(spec name, file)`` for the NAME argument: a path ending in ``.yaml``/``.yml`` names the
    file (the spec is named after its stem); anything else is a name, written to
    ``directory/NAME.yaml``."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        spec_name = path.stem
    else:
        path, spec_name = directory / f"{name}.yaml", name
    if not NAME_PATTERN.match(spec_name):
        raise NewSpecError(
            f"{spec_name!r} is not a spec name: use letters, digits, '_', '-' and '.'"
        )
    return spec_name, path


def find_schema(folder: Path) -> Path | None:
    """The nearest ``spec.schema.json`` in ``folder`` or one of its parents."""
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        if (candidate / SCHEMA_FILE).is_file():
            return candidate / SCHEMA_FILE
    return None


def modeline(spec_path: Path, schema_path: Path) -> str:
    """The editor modeline pointing from ``spec_path`` to ``schema_path`` (a relative path)."""
    relative = os.path.relpath(schema_path.resolve(), spec_path.resolve().parent)
    return MODELINE + Path(relative).as_posix()


def starter_text(source_text: str, name: str, line: str, origin: str, path: Path) -> str:
    """``source_text`` with its modeline replaced by ``line``, ``name:`` set to ``name``, the
    template's path placeholder set to ``path`` and a first comment naming ``origin``."""
    lines = source_text.splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines = lines[1:]
    body = "".join(lines)
    if not _NAME_LINE.search(body):
        raise NewSpecError(f"{origin}: no top-level 'name:' line to replace")
    body = _NAME_LINE.sub(f"name: {name}", body, count=1)
    body = body.replace(_PLACEHOLDER, path.as_posix())
    return f"{line}\n# Started from {origin} by `runner new`.\n{body}"


def _json_or_none(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _check(path: Path) -> dict[str, int]:
    """Cells per profile of the spec at ``path`` (the base as ``base``); :class:`SpecError` when
    the spec or one of its profiles does not validate."""
    problems = validate_profiles(path)
    if problems:
        raise SpecError(problems)
    base = load_spec(path, profile=None)
    cells = {}
    for profile in (None, *base.spec.profiles):
        loaded = base if profile is None else load_spec(path, profile=profile)
        try:
            cells[profile or "base"] = len(plan(loaded.spec, loaded.resolved))
        except SweepError as problem:
            raise NewSpecError(f"{path}  sweep  {problem}") from None
    return cells


def new_spec(
    name: str,
    *,
    source: Path | None = None,
    template: str | None = None,
    directory: Path = Path("specs"),
    write_schema: bool = False,
) -> NewSpec:
    """Write a new spec called ``name`` (see the module docstring) and return what was written."""
    if source is not None and template is not None:
        raise NewSpecError("give --from or --template, not both")
    spec_name, path = target(name, directory)
    if path.exists():
        raise NewSpecError(f"{path} exists; choose another name or delete the file first")
    if source is None:
        available = templates()
        chosen = template or DEFAULT_TEMPLATE
        if chosen not in available:
            raise NewSpecError(
                f"no template {chosen!r}; templates: {', '.join(available) or 'none'} "
                f"(or start from an existing spec with --from SPEC)"
            )
        source_path, origin = available[chosen], f"the '{chosen}' template"
    else:
        source_path, origin = source, str(source)
    _check(source_path)  # a source that does not validate is reported before anything is written
    source_text = source_path.read_text(encoding="utf-8")

    path.parent.mkdir(parents=True, exist_ok=True)
    found = None if write_schema else find_schema(path.parent)
    warning = None
    if found is None:
        schema, schema_written = path.parent / SCHEMA_FILE, True
        atomic_write_text(schema, schema_text())
    else:
        schema, schema_written = found, False
        if _json_or_none(found) != json.loads(schema_text()):
            warning = (
                f"{found} is not this runner's schema; refresh it: runner schema > {found} "
                f"(or use --schema to write one next to the spec)"
            )
    text = starter_text(source_text, spec_name, modeline(path, schema), origin, path)
    atomic_write_text(path, text)
    cells = _check(path)
    return NewSpec(path, spec_name, origin, schema, schema_written, cells, warning)


__all__ = [
    "DEFAULT_TEMPLATE",
    "NewSpec",
    "NewSpecError",
    "find_schema",
    "modeline",
    "new_spec",
    "schema_text",
    "starter_text",
    "target",
    "templates",
]
