"""The evaluation gate: the whole dev set through ``extract_records``, scored by ``score.py``.

The floors are pinned just under what the extractor achieves (figures beside them);
raise them when the extractor improves, never lower them to make a change pass. Reads
../shared/eval (skips where it is absent: the publishers' text is not copied into the repo).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from monitor.extract import Extractor, extract_records
from tests.conftest import shared_path

# row -> metric -> floor
FLOORS: dict[str, dict[str, float]] = {  # achieved at EXTRACTOR_VERSION 0.2.0 in the comments
    "emission_change": {"f1": 0.97, "precision": 0.97, "recall": 0.97},  # 0.982 / 0.982 / 0.982
    "investment": {"f1": 0.98, "precision": 0.98, "recall": 0.98},  # 1.000 / 1.000 / 1.000
    "target": {"f1": 0.98, "precision": 0.98, "recall": 0.98},  # 0.996 / 1.000 / 0.991
    "alerts": {"f1": 0.98, "precision": 0.97, "recall": 0.98},  # 0.992 / 0.984 / 1.000
}
FIELD_FLOORS: dict[str, dict[str, float]] = {
    "emission_change": {"metric": 0.96, "base_year": 0.92, "year": 0.97},  # 0.976 / 0.94 / 0.988
    "investment": {"by_year": 0.95},  # 0.958
}


def _score_module() -> ModuleType:
    path = shared_path("eval", "score.py")
    spec = importlib.util.spec_from_file_location("pledgewatch_score", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load()


@pytest.fixture(scope="module")
def dev_scores(extractor: Extractor) -> dict[str, Any]:
    score = _score_module()
    records = _read(shared_path("eval", "dev.jsonl"))
    inputs = [{k: r[k] for k in ("id", "title", "published", "text") if k in r} for r in records]
    pred = {str(row["id"]): row["facts"] for row in extract_records(inputs, extractor)}
    gold = {str(r["id"]): r["facts"] for r in records}
    assert set(pred) == set(gold), "every passage gets an output line"
    rows, _ = score.score(gold, pred)
    return rows


@pytest.mark.parametrize("row,metric,floor", [(r, m, f) for r, ms in FLOORS.items() for m, f in ms.items()])
def test_dev_scores_at_or_above_floor(dev_scores: dict[str, Any], row: str, metric: str, floor: float) -> None:
    got = dev_scores[row][metric]
    assert got >= floor, f"{row} {metric} {got} fell below its floor {floor}: {dev_scores[row]}"


@pytest.mark.parametrize("row,field,floor", [(r, f, v) for r, fs in FIELD_FLOORS.items() for f, v in fs.items()])
def test_dev_field_accuracy_at_or_above_floor(dev_scores: dict[str, Any], row: str, field: str, floor: float) -> None:
    got = dev_scores[row]["field_accuracy"][field]
    assert got is not None and got >= floor, f"{row} {field} accuracy {got} fell below {floor}"


def test_seed_article_facts(extractor: Extractor) -> None:
    """The seed article (issue 1): Amazon's 6% rise, the $100bn investment, net zero by 2040."""
    score = _score_module()
    (seed,) = _read(shared_path("seed", "seed.jsonl"))
    (row,) = extract_records([{k: seed[k] for k in ("id", "title", "published", "text")}], extractor)
    rows, misses = score.score({"seed": seed["facts"]}, {"seed": row["facts"]})
    assert len(seed["facts"]) == 3
    for kind in ("emission_change", "investment", "target", "alerts"):
        assert rows[kind]["fn"] == 0, f"seed {kind} missed: {misses}"
        assert rows[kind]["fp"] == 0, f"seed {kind} false positive: {misses}"
    for fact in row["facts"]:
        assert "evidence" in fact and 0 <= fact["evidence"]["confidence"] <= 1


def test_prefilter_changes_no_fact(extractor: Extractor) -> None:
    """Parsing only pre-filtered sentences (and NER only where needed) gives the same facts as
    parsing every sentence with the whole pipeline (first 40 dev passages)."""
    records = _read(shared_path("eval", "dev.jsonl"))[:40]
    inputs = [{k: r[k] for k in ("id", "title", "published", "text") if k in r} for r in records]
    fast = list(extract_records(inputs, extractor))
    full_extractor = Extractor(extractor.nlp, extractor.gaz, extractor.models_dir, prefilter=False)
    full_extractor.selective_ner = False
    full = list(extract_records(inputs, full_extractor))
    skipped = sum(not s.candidate for r in inputs
                  for s in extractor.context(r["text"], r.get("title")).sentences)
    assert skipped > 0, "the pre-filter skipped nothing"
    assert fast == full


# Two more labelled sets in the dev format (tests/data/eval/, README beside each), written from scratch
# for this project by engineers who did not read the extractor: other companies (none from the dev
# set), harder phrasing. Each was scored once untouched (the held-out figure in the issue notes) and
# has since served as a regression gate. Floors pinned just under what EXTRACTOR_VERSION 0.2.0 does.
EXTRA_FLOORS: dict[str, dict[str, float]] = {
    "extra_a.jsonl": {"emission_change": 0.90, "investment": 0.85, "target": 0.88, "alerts": 0.92},
    # 0.925 / 0.870 / 0.901 / 0.939
    "extra_b.jsonl": {"emission_change": 0.83, "investment": 0.85, "target": 0.87, "alerts": 0.87},
    # 0.851 / 0.867 / 0.887 / 0.894
}
DATA = Path(__file__).resolve().parent / "data" / "eval"


@pytest.mark.parametrize("name", sorted(EXTRA_FLOORS))
def test_extra_sets_at_or_above_floor(extractor: Extractor, name: str) -> None:
    score = _score_module()
    records = _read(DATA / name)
    inputs = [{k: r[k] for k in ("id", "title", "published", "text") if k in r} for r in records]
    pred = {str(row["id"]): row["facts"] for row in extract_records(inputs, extractor)}
    rows, _ = score.score({str(r["id"]): r["facts"] for r in records}, pred)
    low = {k: rows[k]["f1"] for k, floor in EXTRA_FLOORS[name].items() if rows[k]["f1"] < floor}
    assert not low, f"{name}: F1 below floor {EXTRA_FLOORS[name]}: {low}; all rows {rows}"
