"""store.run_timing: a finished run's wall time, cell time by optimizer and verdicts."""

from __future__ import annotations

import json

from runner.store import run_timing


def _manifest(tmp_path, cells):
    manifest = {
        "profile": "default",
        "created": "2026-11-28T15:00:00Z",
        "finished": "2026-11-28T15:12:30Z",
        "cells": cells,
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))


def test_run_timing_reads_the_manifest_and_claims(tmp_path):
    _manifest(
        tmp_path,
        [
            {"optimizer": "adam", "wall_seconds": 2.0},
            {"optimizer": "adam", "wall_seconds": 3.0},
            {"optimizer": "ggn", "wall_seconds": 10.0},
            {"optimizer": "ggn_then_adam", "wall_seconds": None},  # an errored cell
        ],
    )
    (tmp_path / "claims.json").write_text(
        json.dumps({"claims": [{"id": "a", "verdict": "PASS"}, {"id": "b", "verdict": "FAIL"}]})
    )
    timing = run_timing(tmp_path)
    assert timing["wall_s"] == 750.0 and timing["cells"] == 4 and timing["profile"] == "default"
    assert timing["cell_seconds_by_optimizer"] == {"adam": 5.0, "ggn": 10.0, "ggn_then_adam": 0.0}
    assert timing["verdicts"] == {"a": "PASS", "b": "FAIL"}


def test_run_timing_without_claims(tmp_path):
    _manifest(tmp_path, [{"optimizer": "gd", "wall_seconds": 1.5}])
    assert run_timing(tmp_path)["verdicts"] == {}
