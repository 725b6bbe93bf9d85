"""The junit XML of a run (:func:`render_junit`), for CI systems: one ``<testcase>`` per claim."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from runner.report.common import claim_counts, control_note, fmt, margin_text, spec_name
from runner.results import ClaimResult, RunView


def render_junit(view: RunView) -> str:
    """junit XML: one ``<testcase>`` per claim, with ``<properties>`` ``verdict``, ``margin``,
    ``noise`` (when known) and ``fragile``. A claim that does not hold is a ``<failure>``, ERROR
    an ``<error>``, INCONCLUSIVE ``<skipped>`` (its message starts ``INCONCLUSIVE:``); a holding
    claim has no other child, but a fragile one its text in ``<system-out>``."""
    name = spec_name(view)
    claims = view.claims
    counts = claim_counts(claims)
    # verdicts: informational (smoke): a claim that does not hold is <skipped>, not a failure
    informational = getattr(view.spec, "verdicts", "evidence") == "informational"
    suite_name = f"{name} (smoke: not evidence)" if informational else name
    if informational:
        counts = {**counts, "failed": 0, "inconclusive": counts["inconclusive"] + counts["failed"]}
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml_text(suite_name),
            "tests": str(len(claims)),
            "failures": str(counts["failed"]),
            "errors": str(counts["errored"]),
            "skipped": str(counts["inconclusive"]),
        },
    )
    if view.manifest.get("created"):
        suite.set("timestamp", _xml_text(str(view.manifest["created"])))
    properties = ET.SubElement(suite, "properties")
    git = view.env.get("git") or {}
    cell_errors = sum(1 for cell in view.cells if cell.status == "error")
    for key, value in (
        ("run_id", view.manifest.get("run_id")),
        ("profile", view.manifest.get("profile")),
        ("spec_hash", view.manifest.get("spec_hash")),
        ("git_commit", git.get("commit")),
        ("cell_errors", cell_errors),
        ("verdicts", "informational" if informational else None),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_xml_text(str(value)))
    for claim in claims:
        case = ET.SubElement(
            suite, "testcase", classname=_xml_text(f"pgdlab.{name}"), name=_xml_text(claim.id)
        )
        _case_properties(case, claim)
        text = _xml_text(_junit_text(claim))
        if claim.verdict == "ERROR":
            element = ET.SubElement(
                case,
                "error",
                message=_xml_text(claim.reason or claim.observed_sentence),
                type=claim.kind,
            )
            element.text = text
        elif claim.verdict == "INCONCLUSIVE":
            message = f"INCONCLUSIVE: {claim.reason or claim.observed_sentence}"
            element = ET.SubElement(case, "skipped", message=_xml_text(message))
            element.text = text
        elif not claim.holds and informational:
            message = f"smoke: not evidence: {claim.verdict}: {_failure_message(claim)}"
            element = ET.SubElement(case, "skipped", message=_xml_text(message))
            element.text = text
        elif not claim.holds:
            element = ET.SubElement(
                case, "failure", message=_xml_text(_failure_message(claim)), type=claim.kind
            )
            element.text = text
        elif getattr(claim, "fragile", False):
            ET.SubElement(case, "system-out").text = text
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _case_properties(case: ET.Element, claim: ClaimResult) -> None:
    """``verdict``, ``margin`` and ``noise`` (when known) and ``fragile`` of one claim."""
    properties = ET.SubElement(case, "properties")
    noise = getattr(claim, "noise", None)
    for key, value in (
        ("verdict", claim.verdict),
        ("margin", None if claim.margin is None else fmt(claim.margin)),
        ("noise", None if noise is None else fmt(noise)),
        ("fragile", "true" if getattr(claim, "fragile", False) else "false"),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_xml_text(str(value)))


def _failure_message(claim: ClaimResult) -> str:
    if claim.expected == "fail":
        return f"negative control expected to fail, but it passed: {claim.observed_sentence}"
    return claim.observed_sentence


def _junit_text(claim: ClaimResult) -> str:
    lines = [f"expected: {claim.expected_sentence}", f"observed: {claim.observed_sentence}"]
    if claim.expected == "fail":
        lines.append(control_note(claim))
    if claim.statement:
        lines.append(f"paper: {claim.statement}")
    if claim.reason:
        lines.append(f"reason: {claim.reason}")
    if claim.margin is not None:
        lines.append(f"margin: {margin_text(claim)}")
    if getattr(claim, "fragile", False):
        lines.append(f"fragile: {claim.fragile_reason}")
    return "\n".join(lines)


_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (ANSI escapes in tracebacks, NUL)."""
    return _XML_INVALID.sub("", text)
