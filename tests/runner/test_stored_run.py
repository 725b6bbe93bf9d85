"""A run directory written by an earlier pgdlab stays readable: its cells load, its spec copy
validates, and judging it again gives back its stored ``claims.json``.

``tests/runner/data/regression_1d_smoke_run`` is ``runner run specs/regression_1d.yaml --profile
smoke`` as written before the kinds layout (one class per ``kind:``), without its report, its
spec copies' comments citing ``docs/paper-notes.md`` as the shipped specs now do. Every
field of every claim (verdict, margin, observed numbers, evidence, figure, both sentences) must
come back the same; a change that moves one is a change in what pgdlab tells its users, to be
made on purpose and the fixture re-recorded with it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runner import store
from runner.kinds.claims import judge
from runner.plan import plan
from runner.run import load_run_spec

RUN = Path(__file__).parent / "data" / "regression_1d_smoke_run"


def test_a_stored_run_judges_to_its_stored_claims(tmp_path):
    run_dir = shutil.copytree(RUN, tmp_path / RUN.name)  # judging never writes into the fixture
    manifest = store.read_json(run_dir / "manifest.json")
    loaded = load_run_spec(run_dir)
    cells = store.load_cells(run_dir, manifest)
    assert [c.status for c in cells] == ["finished"] * len(manifest["cells"])
    stored = json.loads((run_dir / "claims.json").read_text(encoding="utf-8"))
    stored = stored["claims"] if isinstance(stored, dict) else stored
    judged = [claim.to_dict() for claim in judge(loaded.spec, cells)]
    assert [c["id"] for c in judged] == [c["id"] for c in stored]
    for old, new in zip(stored, judged, strict=True):
        assert new == old, f"claim {old['id']} judges differently"


def test_a_stored_run_keeps_its_cell_ids_and_hashes():
    manifest = store.read_json(RUN / "manifest.json")
    loaded = load_run_spec(RUN)
    planned = {cell.cell_id: cell.hash for cell in plan(loaded.spec, loaded.resolved)}
    assert planned == {cell["cell_id"]: cell["hash"] for cell in manifest["cells"]}
