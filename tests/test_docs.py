"""The documentation cannot rot: the claim reference is current, every YAML snippet of the spec
guide validates, every ``runner`` command in it parses, and every relative link resolves.

Snippet rule (also written at the top of docs/writing-specs.md): a ```yaml block with a top-level
``name:`` is a whole spec and must validate with every profile; any other block is merged into
the last whole spec above it (mappings key by key, anything else replaced) and must validate.
"""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import pytest
import yaml

from runner import cli
from runner.kinds.claims.reference import COMMAND, claims_markdown
from runner.load import load_spec, validate_profiles
from runner.new import templates
from runner.plan import plan

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "writing-specs.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every fenced block in ``language``."""
    text = path.read_text(encoding="utf-8")
    return [
        (text[: m.start()].count("\n") + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def _merge(base: dict, fragment: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in fragment.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _snippets() -> list[tuple[str, dict]]:
    """``(label, spec)`` for every YAML block of the guide, fragments merged as the rule says."""
    out, base = [], None
    for line, text in _blocks(GUIDE, "yaml"):
        data = yaml.safe_load(text)
        label = f"{GUIDE.name}:{line}"
        assert isinstance(data, dict), f"{label}: a snippet is a mapping of spec keys"
        if "name" in data:
            base = data
            out.append((label, data))
        else:
            assert base is not None, f"{label}: a fragment needs a whole spec above it"
            out.append((label, _merge(base, data)))
    return out


def test_claim_reference_is_current():
    committed = (DOCS / "claims.md").read_text(encoding="utf-8")
    assert committed == claims_markdown(), f"docs/claims.md is out of date; run: {COMMAND}"
    assert COMMAND in committed.split("\n## ")[0]  # the command is at the top


def test_kinds_reference_is_current():
    from runner.kinds.reference import COMMAND as KINDS_COMMAND
    from runner.kinds.reference import kinds_markdown

    committed = (DOCS / "kinds.md").read_text(encoding="utf-8")
    assert committed == kinds_markdown(), f"docs/kinds.md is out of date; run: {KINDS_COMMAND}"


def test_claim_reference_covers_every_kind():
    from runner.kinds.claims import CLAIM_KINDS

    text = claims_markdown()
    for kind in CLAIM_KINDS:
        assert f"\n### {kind.kind_name()}\n" in text
    expects = re.findall(r"^Expects:", text, re.MULTILINE)
    observed = re.findall(r"^Observed \((PASS|FAIL|INCONCLUSIVE|ERROR) ", text, re.MULTILINE)
    assert len(expects) == len(observed) == len(CLAIM_KINDS)


SNIPPETS = _snippets()


def test_the_guide_has_snippets():
    assert len(SNIPPETS) >= 5
    assert sum("name" in text for _, text in _blocks(GUIDE, "yaml")) >= 1


@pytest.mark.parametrize("label,data", SNIPPETS, ids=[label for label, _ in SNIPPETS])
def test_guide_snippet_validates(label, data, tmp_path):
    path = tmp_path / f"{label.replace(':', '_')}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    problems = validate_profiles(path)
    assert not problems, f"{label}: " + "; ".join(p.format() for p in problems)
    for profile in (None, *load_spec(path, profile=None).spec.profiles):
        loaded = load_spec(path, profile=profile)
        assert plan(loaded.spec, loaded.resolved), f"{label} [{profile}]: no cells"


def _commands() -> list[tuple[str, list[str]]]:
    out = []
    for path in (GUIDE, ROOT / "README.md"):
        for line, text in _blocks(path, "bash"):
            for offset, command in enumerate(text.splitlines()):
                if command.startswith("runner "):
                    words = shlex.split(command, comments=True)
                    out.append((f"{path.name}:{line + 1 + offset}", words[1:]))
    return out


def test_guide_commands_parse():
    commands = [c for c in _commands() if c[0].startswith(GUIDE.name)]
    assert {"new", "validate", "run", "judge", "report"} <= {args[0] for _, args in commands}
    parser = cli.build_parser()
    for label, args in _commands():
        try:
            parsed = parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{label}: runner {' '.join(args)} does not parse")
        if getattr(parsed, "template", None):
            assert parsed.template in templates(), label


def test_guide_names_every_template_and_example():
    text = GUIDE.read_text(encoding="utf-8")
    for name in templates():
        assert f"--template {name}" in text
    for example in sorted((ROOT / "specs" / "examples").glob("*.yaml")):
        assert f"specs/examples/{example.name}" in text


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"


NOTES = DOCS / "paper-notes.md"
ANCHOR = re.compile(r'<a id="([A-Za-z0-9_-]+)"></a>')
NOTE_REF = re.compile(r"paper-notes\.md#([A-Za-z0-9_-]+)")
# Files the repository ships that may cite the notes (or, wrongly, files outside the repository).
CITING = ("core", "runner", "specs", "tests", "benchmarks", "docs")
SUFFIXES = {".py", ".yaml", ".md", ".j2", ".toml", ".json"}
OUTSIDE = re.compile(r"\b(EXPERIMENTS|DESIGN|STYLE)\.md\b|\.\./shared")


def _lines(path: Path) -> list[str]:
    # errors="replace": tests/runner/malformed holds a spec that is not UTF-8 on purpose
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _citing_files() -> list[Path]:
    # spec.schema.json is generated from runner/ (test_schema keeps it current), so not listed
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in CITING:
        files += [
            p
            for p in sorted((ROOT / folder).rglob("*"))
            if p.suffix in SUFFIXES and p.is_file() and "__pycache__" not in p.parts
        ]
    return [p for p in files if p.exists()]


def test_paper_note_anchors_resolve():
    """Every ``docs/paper-notes.md#<anchor>`` cited in code, specs, tests and docs exists, and every
    ``(#anchor)`` link inside the notes too."""
    text = NOTES.read_text(encoding="utf-8")
    anchors = set(ANCHOR.findall(text))
    assert len(anchors) == len(ANCHOR.findall(text)), "an anchor is defined twice"
    broken = []
    for path in _citing_files():
        for number, line in enumerate(_lines(path), 1):
            broken += [
                f"{path.relative_to(ROOT)}:{number}: #{name}"
                for name in NOTE_REF.findall(line)
                if name not in anchors
            ]
    broken += [f"paper-notes.md: (#{n})" for n in re.findall(r"\]\(#([^)]+)\)", text)]
    broken = [b for b in broken if b.rsplit("#", 1)[1].rstrip(")") not in anchors]
    assert not broken, "undefined anchors of docs/paper-notes.md:\n" + "\n".join(broken)


def test_no_reference_leads_outside_the_repository():
    """Docstrings, comments and docs cite docs/paper-notes.md, not notes that are not shipped."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _citing_files()
        for number, line in enumerate(_lines(path), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "references to files outside the repository:\n" + "\n".join(found)
