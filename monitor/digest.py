"""Alerts -> digest: a subject, a plain-text part, an HTML part and a Markdown version.

Pure: no I/O beyond reading the package's Jinja2 templates, and the current time is passed in.
Everything that came from the web (titles, sentences, company names, URLs) is untrusted: the
HTML template autoescapes it, links are made only for http and https URLs, and the Markdown
renderer escapes it. The view model is built here in Python; the templates only lay it out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import quote, urlsplit

import jinja2

from monitor.fx import converted_phrase
from monitor.types import Alert, Digest, Source

DEFAULT_TITLE = "Pledgewatch digest"
METRIC_NAMES = {
    "ghg": "greenhouse gas emissions",
    "scope1": "Scope 1 emissions",
    "scope2": "Scope 2 emissions",
    "scope3": "Scope 3 emissions",
    "energy": "energy use",
    "water": "water use",
}
SEVERITY_RANK = {"high": 3, "normal": 2, "low": 1}
SEVERITY_COLOURS = {"high": "#b42318", "normal": "#b54708", "low": "#667085"}
EMPTY_MESSAGE = "No new alerts since the last digest."


@dataclass(frozen=True, slots=True)
class MarkdownDigest(Digest):
    """A Digest that also carries its Markdown version (for the file channel)."""

    markdown: str = ""


@dataclass(frozen=True, slots=True)
class SourceView:
    """One outlet's report, ready for the templates."""

    title: str
    url: str  # as given (may be empty)
    href: str | None  # the URL when it is a safe http(s) link, else None
    host: str
    published: str  # YYYY-MM-DD or ''
    feed: str
    sentence: str  # this outlet's sentence when it differs from the alert's evidence, else ''


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert, ready for the templates."""

    id: int | None
    headline: str  # 'Greenhouse gas emissions up 6% in 2024 vs 2023'
    status: str
    severity: str
    colour: str
    evidence: str
    outlets: tuple[str, ...]  # distinct host names (or feed names when there is no URL)
    sources: tuple[SourceView, ...]
    pledges: tuple[str, ...]
    contradiction: str
    first_seen: str
    kind: str = "emission"  # or 'investment'
    company: str = ""
    money: str = ""  # investments: '€10bn (≈ $10.9bn at 2025-06-30 rates)'

    @property
    def outlet_summary(self) -> str:
        """'3 independent outlets: a.com, b.org, c.net'."""
        n = len(self.outlets)
        noun = "outlet" if n == 1 else "independent outlets"
        return f"{n} {noun}: {', '.join(self.outlets)}" if n else "no outlet recorded"


@dataclass(frozen=True, slots=True)
class CompanyGroup:
    """A company and its alerts, most severe first."""

    company: str
    alerts: tuple[AlertView, ...]


@dataclass(frozen=True, slots=True)
class DigestView:
    """Everything the templates show."""

    title: str
    subject: str
    summary: str
    generated: str
    groups: tuple[CompanyGroup, ...]
    empty_message: str
    fx_note: str
    investments: tuple[AlertView, ...] = ()  # the 'Large investments' section, largest first


def render_digest(alerts: Sequence[Alert], *, now: datetime, title: str = DEFAULT_TITLE,
                  fx_note: str | None = None) -> MarkdownDigest:
    """Render alerts as a digest: subject, text part, HTML part and Markdown, grouped by company.

    Companies with the most severe, then most corroborated, alerts come first. An empty sequence
    gives a digest saying there are no new alerts (the caller decides whether to send it).
    """
    view = build_view(alerts, now=now, title=title, fx_note=fx_note)
    env = _environment()
    return MarkdownDigest(
        subject=view.subject,
        text=_tidy(env.get_template("digest.txt.j2").render(d=view)),
        html=env.get_template("digest.html.j2").render(d=view, colours=SEVERITY_COLOURS),
        alert_ids=tuple(a.id for a in alerts if a.id is not None),
        created=now,
        markdown=render_markdown(view),
    )


def build_view(alerts: Sequence[Alert], *, now: datetime, title: str = DEFAULT_TITLE,
               fx_note: str | None = None) -> DigestView:
    """The template-ready view of a digest (grouping, ordering, wording)."""
    investments = [a for a in alerts if a.kind == "investment"]
    groups = group_by_company(a for a in alerts if a.kind != "investment")
    return DigestView(
        title=clean(title) or DEFAULT_TITLE,
        subject=digest_subject(alerts),
        summary=digest_summary(alerts),
        generated=now.strftime("%Y-%m-%d %H:%M %Z").strip(),
        groups=groups,
        empty_message=EMPTY_MESSAGE,
        fx_note=clean(fx_note if fx_note is not None else default_fx_note(investments)),
        investments=tuple(alert_view(a) for a in sorted(investments, key=_investment_rank, reverse=True)),
    )


def default_fx_note(investments: Sequence[Alert]) -> str:
    """The line under converted amounts: the table's date and where the rates come from ('' if none)."""
    dates = sorted({a.fx_date for a in investments if a.fx_date and a.unit.upper() != "USD"})
    if not dates:
        return ""
    return (f"≈ US dollar amounts use Pledgewatch's static exchange-rate table as of {', '.join(dates)} "
            "(approximate averages of public reference rates; models/fx_usd.json), not the rate of the day.")


def _investment_rank(a: Alert) -> tuple[float, int, str]:
    return (a.amount_usd or 0.0, len(outlets(a.sources)), _company_key(a.company))


# -- wording ---------------------------------------------------------------------------------

def digest_subject(alerts: Sequence[Alert]) -> str:
    """'Pledgewatch: 3 emission increases at 2 companies, 1 large investment' (or 'no new alerts')."""
    if not alerts:
        return "Pledgewatch: no new alerts"
    return f"Pledgewatch: {_counts(alerts)}"


def digest_summary(alerts: Sequence[Alert]) -> str:
    """The counts line at the top of a digest, with high-severity and contradiction counts ('' if none)."""
    if not alerts:
        return ""
    changes = [a for a in alerts if a.kind != "investment"]
    parts = [_counts(alerts)]
    high = sum(1 for a in alerts if a.severity == "high")
    if high:
        parts.append(f"{high} high severity")
    contradictions = sum(1 for a in alerts if a.contradiction)
    if contradictions:
        parts.append(_plural(contradictions, "contradiction", "contradictions"))
    gaps = sum(1 for a in changes if a.pledges)
    if gaps:
        parts.append(f"{gaps} against a pledge")
    return ", ".join(parts)


def _counts(alerts: Sequence[Alert]) -> str:
    changes = [a for a in alerts if a.kind != "investment"]
    n_invest = len(alerts) - len(changes)
    invest = _plural(n_invest, "large investment", "large investments")
    if not changes:
        return invest
    companies = len({_company_key(a.company) for a in changes})
    if all(a.direction == "increase" for a in changes):
        what = _plural(len(changes), "emission increase", "emission increases")
    else:
        what = _plural(len(changes), "alert", "alerts")
    text = f"{what} at {_plural(companies, 'company', 'companies')}"
    return f"{text}, {invest}" if n_invest else text


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def metric_name(metric: str) -> str:
    """A readable metric name: 'ghg' -> 'greenhouse gas emissions'."""
    return METRIC_NAMES.get(metric, clean(metric) or "emissions")


def format_value(value: float, unit: str) -> str:
    """'6%', '6.5%', '1,234,567 tCO2e'."""
    if unit == "%":
        return f"{_number(value)}%"
    return f"{_number(value)} {clean(unit)}".strip()


def _number(value: float) -> str:
    v = abs(float(value))
    if v >= 1000 or v.is_integer():
        return f"{round(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def period_phrase(year: int | None, base_year: int | None) -> str:
    """'in 2024 vs 2023', 'in 2024', 'since 2019' or ''."""
    if year and base_year:
        return f"in {year} vs {base_year}"
    if year:
        return f"in {year}"
    if base_year:
        return f"since {base_year}"
    return ""


def investment_headline(alert: Alert) -> str:
    """'Amazon: €10bn (≈ $10.9bn at 2025-06-30 rates) for data centres in Ohio, by 2030'."""
    words = [f"{clean(alert.company) or 'Unknown company'}: {money_phrase(alert)}"]
    if alert.purpose and clean(alert.purpose):
        words.append(f"for {clean(alert.purpose)}")
    return " ".join(words) + (f", by {alert.year}" if alert.year else "")


def money_phrase(alert: Alert) -> str:
    """An investment alert's amount, with its US dollar value and the FX table date when converted."""
    return converted_phrase(float(alert.value), alert.unit, alert.amount_usd, alert.fx_date)


_PLEDGE_KINDS = (("net-zero", ("net zero", "netzero")), ("water-positive", ("water",)),
                 ("carbon-negative", ("negative",)), ("carbon-neutral", ("neutral",)),
                 ("renewable", ("renewable",)), ("zero-waste", ("waste",)))
_PLEDGE_SCOPES = ("financed", "supply chain", "value chain", "operations", "products", "scope 3", "upstream")
_PLEDGE_YEAR = re.compile(r"\bby\s+((?:19|20)\d\d)\s*$")


def dedupe_pledges(pledges: Iterable[str]) -> tuple[str, ...]:
    """Pledges with repeats removed: 'net-zero by 2030' and 'net-zero emissions by 2030' are one
    (same kind, year and scope); the shortest wording is kept, in order of first appearance."""
    kept: dict[tuple[str, str, str], str] = {}
    for p in (clean(p) for p in pledges):
        if not p:
            continue
        key = pledge_key(p)
        if key not in kept or len(p) < len(kept[key]):
            kept[key] = p
    return tuple(kept.values())


def pledge_key(pledge: str) -> tuple[str, str, str]:
    """(kind, year, scope) of a pledge wording such as 'net-zero emissions by 2040'."""
    m = _PLEDGE_YEAR.search(pledge)
    year = m.group(1) if m else ""
    goal = re.sub(r"[^a-z0-9%]+", " ", (pledge[: m.start()] if m else pledge).casefold()).strip()
    kind = next((k for k, words in _PLEDGE_KINDS if any(w in goal for w in words)), goal)
    scope = next((w for w in _PLEDGE_SCOPES if w in goal), "")
    return kind, year, scope


def change_headline(alert: Alert) -> str:
    """'Greenhouse gas emissions up 6% in 2024 vs 2023'."""
    verb = {"increase": "up", "decrease": "down"}.get(alert.direction, clean(alert.direction))
    words = [metric_name(alert.metric), verb, format_value(alert.value, alert.unit),
             period_phrase(alert.year, alert.base_year)]
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


# -- grouping and ordering -------------------------------------------------------------------

def group_by_company(alerts: Iterable[Alert]) -> tuple[CompanyGroup, ...]:
    """Alerts grouped by company; groups and alerts ordered most severe, most corroborated first."""
    by_company: dict[str, list[Alert]] = {}
    names: dict[str, str] = {}
    for a in alerts:
        key = _company_key(a.company)
        by_company.setdefault(key, []).append(a)
        names.setdefault(key, clean(a.company) or "Unknown company")
    groups = []
    for key, items in by_company.items():
        items.sort(key=_alert_rank, reverse=True)
        groups.append((max(_alert_rank(a) for a in items), len(items), names[key], items))
    groups.sort(key=lambda g: (g[0], g[1], _reverse_name(g[2])), reverse=True)
    return tuple(CompanyGroup(company=name, alerts=tuple(alert_view(a) for a in items))
                 for _, _, name, items in groups)


def _reverse_name(name: str) -> tuple[int, ...]:
    # sorted with reverse=True, so invert the name's order to keep companies A->Z on ties
    return tuple(-ord(c) for c in name.casefold())


def _company_key(company: str) -> str:
    return clean(company).casefold()


def _alert_rank(a: Alert) -> tuple[int, int, int, float]:
    return (SEVERITY_RANK.get(a.severity, 2), len(outlets(a.sources)), a.year or 0, float(a.value))


def alert_view(a: Alert) -> AlertView:
    """The template-ready form of one alert."""
    evidence = next((clean(s.sentence) for s in a.sources if clean(s.sentence)), "")
    severity = a.severity if a.severity in SEVERITY_RANK else "normal"
    investment = a.kind == "investment"
    return AlertView(
        id=a.id,
        headline=investment_headline(a) if investment else change_headline(a),
        status=clean(a.status),
        severity=severity,
        colour=SEVERITY_COLOURS[severity],
        evidence=evidence,
        outlets=outlets(a.sources),
        sources=tuple(source_view(s, evidence) for s in a.sources),
        pledges=() if investment else dedupe_pledges(a.pledges),
        contradiction=clean(a.contradiction or ""),
        first_seen=a.first_seen.strftime("%Y-%m-%d"),
        kind="investment" if investment else "emission",
        company=clean(a.company),
        money=money_phrase(a) if investment else "",
    )


def source_view(s: Source, evidence: str) -> SourceView:
    """The template-ready form of one source; ``evidence`` is the alert's main sentence."""
    url = clean(s.url or "")
    sentence = clean(s.sentence)
    return SourceView(
        title=clean(s.title) or url or "(untitled)",
        url=url,
        href=safe_href(url),
        host=outlet_name(s),
        published=s.published.strftime("%Y-%m-%d") if s.published else "",
        feed=clean(s.feed or ""),
        sentence=sentence if sentence != evidence else "",
    )


def outlets(sources: Iterable[Source]) -> tuple[str, ...]:
    """Distinct outlets (host names without 'www.', else feed names), in order of first report."""
    seen: dict[str, None] = {}
    for s in sources:
        seen.setdefault(outlet_name(s), None)
    return tuple(seen)


def outlet_name(s: Source) -> str:
    """The host name of a source's URL without 'www.', else its feed, else 'unknown outlet'."""
    host = host_of(s.url or "")
    return host or clean(s.feed or "") or "unknown outlet"


def host_of(url: str) -> str:
    """The lower-case host of an http(s) URL without a leading 'www.', or ''."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    return host.removeprefix("www.")


def safe_href(url: str) -> str | None:
    """The URL if it is an http or https link with a host and no whitespace, else None."""
    if not url or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    return url if host_of(url) else None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Untrusted text on one line: control characters removed, whitespace collapsed."""
    return _SPACE.sub(" ", _CONTROL.sub("", text or "")).strip()


# -- templates -------------------------------------------------------------------------------

@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"),
                                            disabled_extensions=("txt.j2",), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _tidy(text: str) -> str:
    """At most one blank line in a row, trailing spaces removed, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"


# -- Markdown --------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: str) -> str:
    """Untrusted text made inert in Markdown: HTML characters as entities, syntax backslashed."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(title: str, url: str) -> str:
    """'[title](<url>)' for a safe http(s) URL, else the escaped title and URL as text."""
    href = safe_href(url)
    if href is None:
        return md_escape(f"{title} ({url})" if url and url != title else title)
    return f"[{md_escape(title)}](<{quote(href, safe=':/?#@!$&*+,;=%~-._')}>)"


def render_markdown(view: DigestView) -> str:
    """The Markdown version of a digest view (written by the file channel)."""
    lines = [f"# {md_escape(view.title)}", "", f"*{md_escape(view.generated)}*", ""]
    if view.summary:
        lines += [f"**{md_escape(view.summary)}**", ""]
    if not view.groups and not view.investments:
        lines += [md_escape(view.empty_message), ""]
    for group in view.groups:
        lines += [f"## {md_escape(group.company)}", ""]
        for a in group.alerts:
            lines += _markdown_alert(a)
    if view.investments:
        lines += ["## Large investments", ""]
        for a in view.investments:
            lines += _markdown_alert(a)
    if view.fx_note:
        lines += [f"*{md_escape(view.fx_note)}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_markdown_fallback(digest: Digest) -> str:
    """Markdown for a plain Digest (no view at hand): the subject and the text part in a code block."""
    longest = max((len(m) for m in re.findall(r"`+", digest.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"# {md_escape(digest.subject)}\n\n{fence}text\n{digest.text.rstrip()}\n{fence}\n"


def _markdown_alert(a: AlertView) -> list[str]:
    lines = [f"### {md_escape(a.headline)}", "",
             f"- Status: {md_escape(a.status)}; severity: **{md_escape(a.severity)}**; "
             f"first seen {md_escape(a.first_seen)}"]
    if a.evidence:
        lines[2:2] = [f"> {md_escape(a.evidence)}", ""]
    if a.pledges:
        lines.append(f"- Pledge: {md_escape('; '.join(a.pledges))}")
    if a.contradiction:
        lines.append(f"- Contradiction: {md_escape(a.contradiction)}")
    lines.append(f"- Sources: {md_escape(a.outlet_summary)}")
    for s in a.sources:
        meta = ", ".join(x for x in (s.host, s.published) if x)
        lines.append(f"  - {md_link(s.title, s.url)}" + (f" ({md_escape(meta)})" if meta else ""))
        if s.sentence:
            lines.append(f"    “{md_escape(s.sentence)}”")
    lines.append("")
    return lines
