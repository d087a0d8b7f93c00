"""Reprocess: re-run the current extractor over stored articles and say (and apply) what changes.

Three steps, the middle one pure:

1. ``load_stored`` reads the stored articles (``--since``) and their facts; ``extract_stored``
   runs the extractor over them in batches through ``Extractor.extract_many`` (``nlp.pipe``
   underneath), reporting progress.
2. ``plan_reprocess`` compares the stored facts of each article with the new ones
   (``diff_facts``: new, changed, gone, unchanged) and the stored alerts with the alerts the new
   facts raise under the current alert rules (``plan_alerts``: new, changed, gone).
3. ``apply_plan`` writes the plan through Store methods: facts replaced per article, alerts
   recorded (merged by key, as the daemon does) or their sources withdrawn.

Alerts already delivered are never sent again: an alert keeps its row, id and delivery records
when its sources change, and an alert no longer supported by any article is deleted only when it
was never sent; one already sent (or being sent) is left exactly as it was delivered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from monitor import alerts as alert_rules
from monitor.config import AlertConfig
from monitor.store.store import Store, outlet_of
from monitor.types import EmissionChange, Evidence, Fact, Investment, Source, Target, fact_to_dict


class BatchExtractor(Protocol):
    """What reprocessing needs of ``monitor.extract.Extractor``."""

    def extract_many(self, items: Sequence[tuple[str, str, date | None]]) -> Iterable[Sequence[Fact]]: ...


# -- records ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FactChange:
    """A stored fact and the new fact that takes its place (same kind, company and sentence)."""

    old: Fact
    new: Fact
    fields: tuple[str, ...]  # the schema/evidence fields that differ


@dataclass(frozen=True, slots=True)
class FactDiff:
    """Stored facts of one article against the current extractor's facts."""

    new: tuple[Fact, ...] = ()
    changed: tuple[FactChange, ...] = ()
    gone: tuple[Fact, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing was added, changed or lost."""
        return not (self.new or self.changed or self.gone)


@dataclass(frozen=True, slots=True)
class ArticleResult:
    """One reprocessed article: its new facts and how they differ from the stored ones."""

    article_id: int
    url: str | None
    title: str
    feed_url: str | None
    published: datetime | None
    facts: tuple[Fact, ...]
    diff: FactDiff
    rewrite: bool  # facts or extractor version differ in any way (confidence included)

    @property
    def outlet(self) -> str:
        """The outlet (host) this article counts as for alert corroboration."""
        return outlet_of(self.url, self.feed_url)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert that reprocessing creates, changes (sources gained or lost) or leaves unsupported."""

    kind: str  # 'new', 'changed' or 'gone'
    key: str
    alert_id: int | None  # None for a new alert
    fact: EmissionChange | None  # the new fact (None when gone)
    added: tuple[tuple[int, EmissionChange], ...] = ()  # (article id, fact) sources to add
    removed: tuple[int, ...] = ()  # article ids no longer supporting it
    delivered: tuple[str, ...] = ()  # channels it was already sent on

    @property
    def kept_because_sent(self) -> bool:
        """A gone alert already delivered: left as it was sent."""
        return self.kind == "gone" and bool(self.delivered)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A stored article not reprocessed, and why."""

    article_id: int
    url: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ReprocessPlan:
    """Everything reprocessing would change."""

    extractor_version: str
    articles: tuple[ArticleResult, ...]
    alerts: tuple[AlertChange, ...]
    skipped: tuple[Skipped, ...] = ()

    def fact_counts(self) -> dict[str, int]:
        """Facts new, changed, gone and unchanged over every reprocessed article."""
        return {"new": sum(len(a.diff.new) for a in self.articles),
                "changed": sum(len(a.diff.changed) for a in self.articles),
                "gone": sum(len(a.diff.gone) for a in self.articles),
                "unchanged": sum(a.diff.unchanged for a in self.articles)}

    def alert_counts(self) -> dict[str, int]:
        """Alerts new, changed, gone (deleted) and gone-but-kept (already sent)."""
        return {"new": sum(c.kind == "new" for c in self.alerts),
                "changed": sum(c.kind == "changed" for c in self.alerts),
                "gone": sum(c.kind == "gone" and not c.delivered for c in self.alerts),
                "kept_sent": sum(c.kept_because_sent for c in self.alerts)}


@dataclass
class StoredArticles:
    """Stored articles with their stored facts and the current extractor's facts (step 1's output)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    old_facts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    new_facts: dict[int, list[Fact]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


# -- facts: rows <-> records, comparison -----------------------------------------------------

def fact_from_row(row: Mapping[str, Any]) -> Fact:
    """A stored ``facts`` row as a Fact record (with its evidence)."""
    ev = None
    if row.get("evidence") is not None:
        ev = Evidence(sentence=row["evidence"], start=int(row["evidence_start"] or 0),
                      end=int(row["evidence_end"] or 0),
                      confidence=0.5 if row.get("confidence") is None else float(row["confidence"]))
    kind = row["type"]
    if kind == "emission_change":
        return EmissionChange(company=row["company"], metric=row["metric"], direction=row["direction"],
                              value=float(row["value"]), unit=row["unit"], base_year=row["base_year"],
                              year=row["year"], status=row["status"], evidence=ev)
    if kind == "investment":
        return Investment(company=row["company"], amount=float(row["amount"]), currency=row["currency"],
                          purpose=row["purpose"], by_year=row["by_year"], status=row["status"], evidence=ev)
    return Target(company=row["company"], goal=row["goal"], year=row["year"], evidence=ev)


def _signature(fact: Fact) -> str:
    """What a fact says and where: schema fields plus evidence sentence and offsets (not confidence)."""
    d = fact_to_dict(fact)
    ev = d.pop("evidence", None)
    if ev is not None:
        ev = {k: ev[k] for k in ("sentence", "start", "end")}
    return json.dumps([d, ev], sort_keys=True, default=str)


def _full(fact: Fact) -> str:
    """Everything stored about a fact, confidence included (to decide whether to rewrite)."""
    return json.dumps(fact_to_dict(fact), sort_keys=True, default=str)


def _slot(fact: Fact) -> tuple[str, str, int | None]:
    """Facts in the same slot (kind, company, sentence) are one fact that changed, not two."""
    company = alert_rules.canonical_company(fact.company or "")
    return fact.type, company, fact.evidence.start if fact.evidence else None


def _changed_fields(old: Fact, new: Fact) -> tuple[str, ...]:
    a, b = fact_to_dict(old), fact_to_dict(new)
    ea, eb = a.pop("evidence", None) or {}, b.pop("evidence", None) or {}
    names = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    names += [f"evidence.{k}" for k in ("sentence", "start", "end") if ea.get(k) != eb.get(k)]
    return tuple(names)


def diff_facts(old: Sequence[Fact], new: Sequence[Fact]) -> FactDiff:
    """Stored facts against new ones: identical ones are unchanged, facts of the same slot (kind,
    company, sentence start) that differ are changed, the rest are new or gone. Pure."""
    new_left = list(new)
    old_left: list[Fact] = []
    unchanged = 0
    for fact in old:
        sig = _signature(fact)
        hit = next((i for i, n in enumerate(new_left) if _signature(n) == sig), None)
        if hit is None:
            old_left.append(fact)
        else:
            new_left.pop(hit)
            unchanged += 1
    changed: list[FactChange] = []
    gone: list[Fact] = []
    for fact in old_left:
        hit = next((i for i, n in enumerate(new_left) if _slot(n) == _slot(fact)), None)
        if hit is None:
            gone.append(fact)
        else:
            repl = new_left.pop(hit)
            changed.append(FactChange(fact, repl, _changed_fields(fact, repl)))
    return FactDiff(new=tuple(new_left), changed=tuple(changed), gone=tuple(gone), unchanged=unchanged)


# -- alerts ----------------------------------------------------------------------------------

def plan_alerts(articles: Sequence[ArticleResult], alert_links: Sequence[Mapping[str, Any]],
                rules: AlertConfig) -> list[AlertChange]:
    """The alerts the reprocessed articles' new facts raise, against the stored alerts. Pure.

    Only reprocessed articles gain or lose their support of an alert; sources from other
    articles stay. An article whose outlet already backs an alert adds nothing (the store keeps
    one source per outlet), so planning again after applying finds no change.
    """
    support: dict[str, list[tuple[ArticleResult, EmissionChange]]] = {}
    for art in articles:
        for fact in alert_rules.alert_candidates(list(art.facts), rules):
            support.setdefault(alert_rules.alert_key(fact), []).append((art, fact))
    reprocessed = {a.article_id for a in articles}
    changes: list[AlertChange] = []
    for link in alert_links:
        change = _plan_existing(link, support.pop(str(link["key"]), []), reprocessed)
        if change is not None:
            changes.append(change)
    for key, backers in support.items():
        added = _one_per_outlet(backers, set())
        changes.append(AlertChange(kind="new", key=key, alert_id=None, fact=added[0][1], added=added))
    return changes


def _plan_existing(link: Mapping[str, Any], backers: list[tuple[ArticleResult, EmissionChange]],
                   reprocessed: set[int]) -> AlertChange | None:
    sources = list(link["sources"])
    backing_ids = {a.article_id for a, _ in backers}
    removed = tuple(dict.fromkeys(s["article_id"] for s in sources
                                  if s["article_id"] in reprocessed and s["article_id"] not in backing_ids))
    kept = [s for s in sources if s["article_id"] not in removed]
    source_ids = {s["article_id"] for s in sources}
    added = _one_per_outlet([(a, f) for a, f in backers if a.article_id not in source_ids],
                            {s["outlet"] for s in kept})
    if not removed and not added:
        return None
    kind = "gone" if not kept and not added else "changed"
    fact = added[0][1] if added else (backers[0][1] if backers else None)
    return AlertChange(kind=kind, key=str(link["key"]), alert_id=int(link["id"]), fact=fact, added=added,
                       removed=removed, delivered=tuple(link["delivered"]))


def _one_per_outlet(backers: Sequence[tuple[ArticleResult, EmissionChange]],
                    outlets: set[str]) -> tuple[tuple[int, EmissionChange], ...]:
    out: list[tuple[int, EmissionChange]] = []
    seen = set(outlets)
    for art, fact in backers:
        if art.outlet in seen:
            continue
        seen.add(art.outlet)
        out.append((art.article_id, fact))
    return tuple(out)


# -- the three steps -------------------------------------------------------------------------

def load_stored(store: Store, since: datetime | None = None) -> StoredArticles:
    """The stored articles to reprocess (published, else fetched, since ``since``) and their facts.

    Articles whose text was purged (retention) or is empty are skipped, with the reason.
    """
    out = StoredArticles()
    for row in store.articles_for_reprocess(since):
        if row["text_purged_at"]:
            out.skipped.append(Skipped(row["id"], row["url"], "text purged"))
        elif not (row["text"] or "").strip():
            out.skipped.append(Skipped(row["id"], row["url"], "no text"))
        else:
            out.rows.append(row)
    out.old_facts = store.facts_of_articles([r["id"] for r in out.rows])
    return out


def extract_stored(stored: StoredArticles, extractor: BatchExtractor, *, batch_size: int = 32,
                   progress: Callable[[int], None] | None = None) -> StoredArticles:
    """Run the extractor over the stored articles in batches; fills and returns ``stored``.

    ``progress`` is called with the number of articles done after each batch.
    """
    for start in range(0, len(stored.rows), batch_size):
        batch = stored.rows[start:start + batch_size]
        items = [(r["text"], r["title"] or "", _date(r["published"])) for r in batch]
        for row, facts in zip(batch, extractor.extract_many(items), strict=True):
            stored.new_facts[row["id"]] = list(facts)
        if progress is not None:
            progress(len(batch))
    return stored


def plan_reprocess(stored: StoredArticles, alert_links: Sequence[Mapping[str, Any]], rules: AlertConfig,
                   extractor_version: str) -> ReprocessPlan:
    """What reprocessing changes: per-article fact diffs and alert changes. Pure."""
    results = []
    for row in stored.rows:
        old = [fact_from_row(r) for r in stored.old_facts.get(row["id"], [])]
        new = stored.new_facts.get(row["id"], [])
        rewrite = (row["extractor_version"] != extractor_version
                   or sorted(map(_full, old)) != sorted(map(_full, new)))
        results.append(ArticleResult(article_id=row["id"], url=row["url"], title=row["title"] or "",
                                     feed_url=row["feed_url"], published=_datetime(row["published"]),
                                     facts=tuple(new), diff=diff_facts(old, new), rewrite=rewrite))
    return ReprocessPlan(extractor_version=extractor_version, articles=tuple(results),
                         alerts=tuple(plan_alerts(results, alert_links, rules)), skipped=tuple(stored.skipped))


def apply_plan(store: Store, plan: ReprocessPlan, now: datetime) -> dict[str, int]:
    """Write a plan through the store: facts replaced, alerts recorded or withdrawn.

    Returns counts: articles rewritten, alerts created, sources added, alerts deleted, alerts
    kept because already sent. Each step is its own transaction and the plan is idempotent, so
    an interrupted apply is completed by reprocessing again.
    """
    counts = {"articles": 0, "alerts_created": 0, "sources_added": 0, "alerts_deleted": 0, "kept_sent": 0}
    by_id = {a.article_id: a for a in plan.articles}
    for art in plan.articles:
        if art.rewrite:
            store.replace_article_facts(art.article_id, art.facts, plan.extractor_version, now)
            counts["articles"] += 1
    # Alerts gaining sources first (a lost source of the same outlet is swapped out just before),
    # deletions last, so that a new alert never takes the id of one deleted in the same run.
    for change in plan.alerts:
        if not change.added:
            continue
        if change.alert_id is not None and change.removed:
            store.withdraw_alert_sources(change.alert_id, change.removed, replaced=True)
        for article_id, fact in change.added:
            art = by_id[article_id]
            source = Source(url=art.url, title=art.title, feed=art.feed_url, published=art.published,
                            sentence=fact.evidence.sentence if fact.evidence else "")
            _, created = store.record_alert(fact, key=change.key, article_id=article_id, source=source, now=now,
                                            severity=alert_rules.severity(fact.value, fact.unit, 1))
            counts["alerts_created"] += int(created)
            counts["sources_added"] += 1
    for change in plan.alerts:
        if change.alert_id is not None and change.removed and not change.added:
            outcome = store.withdraw_alert_sources(change.alert_id, change.removed)
            counts["alerts_deleted"] += outcome == "deleted"
            counts["kept_sent"] += outcome == "delivered"
    return counts


# -- describing changes ----------------------------------------------------------------------

def describe_fact(fact: Fact) -> str:
    """A fact in one short line: ``Acme Corp: ghg increase 12% in 2023 (reported)``."""
    who = fact.company or "(no company)"
    if isinstance(fact, EmissionChange):
        period = f" in {fact.year}" if fact.year else ""
        base = f" vs {fact.base_year}" if fact.base_year else ""
        return f"{who}: {fact.metric} {fact.direction} {_num(fact.value)}{_unit(fact.unit)}{period}{base} " \
               f"({fact.status})"
    if isinstance(fact, Investment):
        purpose = f" in {fact.purpose}" if fact.purpose else ""
        by = f" by {fact.by_year}" if fact.by_year else ""
        return f"{who}: invests {_num(fact.amount)} {fact.currency}{purpose}{by} ({fact.status})"
    by = f" by {fact.year}" if fact.year else ""
    return f"{who}: pledge {fact.goal}{by}"


def describe_change(change: FactChange) -> str:
    """How a fact changed: ``metric: ghg -> scope1; value: 10 -> 12``."""
    a, b = fact_to_dict(change.old), fact_to_dict(change.new)
    parts = []
    for name in change.fields:
        if name.startswith("evidence."):
            key = name.split(".", 1)[1]
            parts.append(f"{name}: {(a.get('evidence') or {}).get(key)!r} -> {(b.get('evidence') or {}).get(key)!r}")
        else:
            parts.append(f"{name}: {a.get(name)} -> {b.get(name)}")
    return "; ".join(parts)


def report_lines(plan: ReprocessPlan) -> list[str]:
    """The plan as the lines ``pledgewatch reprocess`` prints."""
    fc, ac = plan.fact_counts(), plan.alert_counts()
    skipped = f" ({len(plan.skipped)} skipped: {_reasons(plan.skipped)})" if plan.skipped else ""
    lines = [f"Reprocessed {len(plan.articles)} articles with extractor {plan.extractor_version}{skipped}.",
             f"Facts: {fc['new']} new, {fc['changed']} changed, {fc['gone']} gone, {fc['unchanged']} unchanged."]
    for art in plan.articles:
        where = f"[article {art.article_id}] {art.url or art.title}"
        lines += [f"  + {where}: {describe_fact(f)}" for f in art.diff.new]
        lines += [f"  ~ {where}: {describe_fact(c.new)} ({describe_change(c)})" for c in art.diff.changed]
        lines += [f"  - {where}: {describe_fact(f)}" for f in art.diff.gone]
    kept = f", {ac['kept_sent']} no longer supported but already sent (kept)" if ac["kept_sent"] else ""
    lines.append(f"Alerts: {ac['new']} new, {ac['changed']} changed, {ac['gone']} gone{kept}.")
    for c in plan.alerts:
        lines.append("  " + _describe_alert(c))
    return lines


def _describe_alert(c: AlertChange) -> str:
    label = f"alert {c.alert_id} " if c.alert_id is not None else "alert "
    if c.kind == "new":
        return f"+ {label}{c.key} ({len(c.added)} source{'s' if len(c.added) != 1 else ''})"
    if c.kind == "gone":
        fate = f"kept: already sent on {', '.join(c.delivered)}" if c.delivered else "deleted: never sent"
        return f"- {label}{c.key} ({fate})"
    bits = []
    if c.added:
        bits.append("+ sources from articles " + ", ".join(str(a) for a, _ in c.added))
    if c.removed:
        bits.append("- sources from articles " + ", ".join(map(str, c.removed)))
    return f"~ {label}{c.key} ({'; '.join(bits)})"


def _reasons(skipped: Sequence[Skipped]) -> str:
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s.reason] = counts.get(s.reason, 0) + 1
    return ", ".join(f"{n} {reason}" for reason, n in counts.items())


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _unit(unit: str) -> str:
    return unit if unit == "%" else f" {unit}"


def _datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _date(text: str | None) -> date | None:
    dt = _datetime(text)
    return dt.date() if dt else None


__all__ = ["AlertChange", "ArticleResult", "FactChange", "FactDiff", "ReprocessPlan", "Skipped", "StoredArticles",
           "apply_plan", "describe_change", "describe_fact", "diff_facts", "extract_stored", "fact_from_row",
           "load_stored", "plan_alerts", "plan_reprocess", "report_lines"]
