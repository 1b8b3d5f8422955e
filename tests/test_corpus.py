"""The oracle against its corpus: every bug flagged on its culprit, no correct file flagged.

Each file in ``tests/corpus`` says in its header what the verdict must be (see
``tests/corpus/README.md``).  One test per file, run through ``run_target``
exactly as the CLI does (child processes, time and memory limits), with the
default profile's example count unless ``NNFS_ORACLE_CORPUS_EXAMPLES`` says
otherwise.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from pathlib import Path

import pytest

from oracle.run import run_target
from oracle.settings import Settings

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".py", ".ipynb"))


def _share(paths: list[Path]) -> list[Path]:
    """The buggy and correct files this run judges: all of them by default; a fixed part
    (``NNFS_ORACLE_CORPUS_SHARE``, a fraction chosen by a hash of each file's name, so the
    same files every run) on the environments that run the corpus lighter.  The full
    corpus runs on one Python (tox.ini)."""
    share = float(os.environ.get("NNFS_ORACLE_CORPUS_SHARE", "1"))
    if share >= 1:
        return paths
    return [p for p in paths if zlib.crc32(p.name.encode()) % 1000 < share * 1000]


def header(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        text = "".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells
            if c["cell_type"] == "markdown"
        )[:2000]
    out: dict[str, str] = {}
    for key in ("corpus", "culprit", "bug", "map"):
        found = [m.strip() for m in re.findall(rf"^#?\s*{key}:\s*(.+)$", text, flags=re.M)]
        if found:  # several map lines are one mapping
            out[key] = ", ".join(found) if key == "map" else found[0]
    return out


def mapping_of(h: dict[str, str]) -> dict[str, str]:
    pairs = [kv.split("=", 1) for kv in h.get("map", "").split(",") if "=" in kv]
    return {a.strip(): b.strip() for a, b in pairs}


def settings_for(h: dict[str, str], **kw: object) -> Settings:
    examples = os.environ.get("NNFS_ORACLE_CORPUS_EXAMPLES")
    return Settings(
        mapping=mapping_of(h),
        max_examples=int(examples) if examples else None,
        timeout=float(kw.pop("timeout", 30.0)),  # type: ignore[arg-type]
        memory_mb=int(kw.pop("memory_mb", 1024)),  # type: ignore[call-overload]
    )


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


def _verdicts(report) -> str:
    return "; ".join(
        f"{c.name}={c.status}"
        + "".join(f"\n    {k.name}: {k.message.splitlines()[0] if k.message else ''}"
                  for k in c.checks if k.status in ("fail", "error"))
        for c in report.components
        if c.status in ("fail", "error")
    )


@pytest.mark.parametrize("path", _share([p for p in FILES if p.parent.name in ("buggy", "book")]),
                         ids=_id)
def test_each_bug_is_flagged_on_its_culprit_only(path: Path) -> None:
    h = header(path)
    culprit = h.get("culprit") or "Loss_MeanAbsoluteError"  # book/: the published erratum
    report = run_target(str(path), settings_for(h), lanes=1)
    assert report.error is None, report.error
    flagged = {c.name for c in report.components if c.status in ("fail", "error")}
    assert culprit in flagged, f"{path.name}: {h.get('bug')}: not flagged on {culprit}"
    assert flagged == {culprit}, f"{path.name}: also flagged: {_verdicts(report)}"
    if path.parent.name == "book":
        mae = report.component("Loss_MeanAbsoluteError")
        assert any("erratum" in c.message for c in mae.checks if c.status == "fail")


@pytest.mark.parametrize("path", _share([p for p in FILES if p.parent.name == "correct"]),
                         ids=_id)
def test_no_correct_implementation_is_flagged(path: Path) -> None:
    h = header(path)
    report = run_target(str(path), settings_for(h), lanes=1)
    assert report.error is None, report.error
    assert report.exit_code == 0, f"{path.name} ({h.get('bug')}): {_verdicts(report)}"
    assert any(c.status == "pass" for c in report.components)


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name == "hostile"], ids=_id)
def test_hostile_components_are_contained(path: Path) -> None:
    h = header(path)
    # Short limits: a hang costs `timeout` seconds, an allocation loop hits the memory cap.
    report = run_target(str(path), settings_for(h, timeout=8.0, memory_mb=768), lanes=1)
    assert report.error is None, report.error
    culprit = report.component(h["culprit"])
    assert culprit.status in ("fail", "error"), culprit
    message = "\n".join(c.message for c in culprit.checks) or ""
    assert message.strip(), "the culprit's verdict carries no message"
    assert "Traceback (most recent call last)" not in message
    others = [c for c in report.components if c.name != h["culprit"]]
    assert all(c.status in ("pass", "missing") for c in others), _verdicts(report)
    assert any(c.status == "pass" for c in others), "the other components were not checked"


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name == "bad"], ids=_id)
def test_bad_targets_get_one_clear_message(path: Path) -> None:
    h = header(path)
    report = run_target(str(path), settings_for(h), lanes=1)
    if report.error is not None:
        assert report.exit_code == 2
        assert "Traceback (most recent call last)" not in report.error
        assert len(report.error) < 2000
    else:  # loadable but with nothing (or one broken class) to check
        broken = [c for c in report.components if c.status in ("fail", "error")]
        found = [c for c in report.components if c.status != "missing"]
        assert broken or not found, _verdicts(report)
        if not found:  # nothing checked is not a pass, and the JSON says why
            assert report.exit_code == 2
            assert "no class of the book was found" in report.to_dict()["error"]
        for c in broken:
            assert all("Traceback (most recent" not in k.message for k in c.checks)
