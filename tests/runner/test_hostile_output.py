"""A run cannot be turned against its reader or its disk: every string that comes from a spec is
escaped in the HTML report, and every file the run writes lies inside ``--out``."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import yaml

from runner import cli, store

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'

SPEC = {
    "name": "hostile",
    "description": f"description {XSS}",
    "paper": f"paper {XSS}",
    "task": {"kind": "random_jacobian", "residuals": 6, "parameters": 10},
    "model": {"kind": "linear"},
    "loss": {"kind": "mse", "convention": "raw"},
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 0.01},
        "gn": {"kind": "gn", "learning_rate": 0.5, "eps": 1e-6},
    },
    "train": {"steps": 6, "eval_every": 2, "precision": "float64"},
    "metrics": [{"kind": "mode_error", "modes": 3}],
    "sweep": {"seeds": [0], "grid": {"task.singular_min": [1e-2, 1e-3]}},
    "observables": {
        f"final {XSS}": {"kind": "final", "metric": "mode_error", "relative_to_initial": True},
    },
    "claims": [
        {
            "id": "gn_below_gd",
            "kind": "compare",
            "statement": f"statement {XSS}",
            "left": {"observable": f"final {XSS}", "where": {"optimizer": "gn"}},
            "right": {"observable": f"final {XSS}", "where": {"optimizer": "gd"}},
            "op": "<",
            "for_each": "task.singular_min",
        },
    ],
    "figures": [
        {
            "title": f"title {XSS}",
            "metric": "mode_error",
            "panels": [{"label": f"label {XSS}", "where": {"optimizer": "gd"}}],
        }
    ],
}


class _Markup(HTMLParser):
    """Collects the tags and attribute names of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)


def _files(root: Path) -> set[Path]:
    return {Path(d) / f for d, _, names in os.walk(root) for f in names}


def test_spec_strings_never_become_markup_and_files_stay_in_out(tmp_path):
    spec = tmp_path / "spec" / "hostile.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    out = tmp_path / "out"
    before = _files(tmp_path)
    code = cli.main(["run", str(spec), "--out", str(out)])
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED)
    # nothing written outside --out (the spec folder and tmp_path itself are untouched)
    created = _files(tmp_path) - before
    assert created and all(out in path.parents for path in created)
    (run_dir,) = store.run_dirs(out)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    parser = _Markup()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not [a for a in parser.attributes if a.lower().startswith("on")]
    # the payload is shown as text, escaped, where the spec put it
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for where in ("description", "paper", "statement", "final", "title"):
        assert f"{where} {escaped}" in html, where
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "<script>" not in junit


def test_spec_names_cannot_leave_the_out_folder(tmp_path, capsys):
    for name in ("../escape", "/etc/passwd", "a/b", "run\\..\\x"):
        spec = tmp_path / "bad.yaml"
        spec.write_text(yaml.safe_dump({**SPEC, "name": name}), encoding="utf-8")
        assert cli.main(["run", str(spec), "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
        assert "name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape").exists()


def test_long_names_are_refused_and_long_sweep_values_are_cut(tmp_path, capsys):
    spec = tmp_path / "long.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "name": "n" * 101}), encoding="utf-8")
    assert cli.main(["validate", str(spec)]) == cli.EXIT_USAGE
    assert "name" in capsys.readouterr().err
    long_optimizer = {**SPEC, "optimizers": {"g" * 65: {"kind": "gd", "learning_rate": 0.01}}}
    spec.write_text(yaml.safe_dump(long_optimizer), encoding="utf-8")
    assert cli.main(["validate", str(spec)]) == cli.EXIT_USAGE
    assert "at most 64 characters" in capsys.readouterr().err

    from runner.plan import plan
    from runner.spec import Spec

    swept = {**SPEC, "claims": [], "sweep": {"grid": {"description": ["d" * 5000, "e" * 5000]}}}
    cells = plan(Spec.model_validate(swept), swept)
    assert len({c.cell_id for c in cells}) == len(cells)
    assert all(len(c.cell_id) < 200 for c in cells)
