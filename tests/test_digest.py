"""Digest rendering: grouping, wording, counts, and untrusted text made harmless."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from monitor.digest import (
    change_headline,
    format_value,
    md_escape,
    outlets,
    render_digest,
    safe_href,
)
from monitor.types import Alert, Digest, Source

NOW = datetime(2025, 7, 3, 8, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script>'
ONERROR = '" onerror="x'


def source(url: str | None, title: str = "Story", sentence: str = "Emissions rose.",
           feed: str | None = "Feed", published: datetime | None = datetime(2025, 7, 2, tzinfo=UTC)) -> Source:
    return Source(url=url, title=title, feed=feed, published=published, sentence=sentence)


def alert(company: str, value: float = 6, *, metric: str = "ghg", unit: str = "%", year: int | None = 2024,
          base_year: int | None = 2023, sources: tuple[Source, ...] = (), severity: str = "normal",
          pledges: tuple[str, ...] = (), contradiction: str | None = None, id: int = 1,
          status: str = "reported", direction: str = "increase") -> Alert:
    return Alert(key=f"{company}|{metric}|{year}|{value}", company=company, metric=metric, direction=direction,
                 value=value, unit=unit, status=status, year=year, base_year=base_year,
                 sources=sources or (source(f"https://news{id}.example.com/a"),), first_seen=NOW,
                 severity=severity, pledges=pledges, contradiction=contradiction, id=id)


def three_alerts() -> list[Alert]:
    corroborated = tuple(source(u, title=f"Report {i}", sentence="Acme said emissions rose 6% in 2024.")
                         for i, u in enumerate(["https://www.reuters.com/acme", "https://ft.com/acme",
                                                "https://www.bbc.co.uk/news/acme"]))
    return [
        alert("Beta Corp", 3, id=1, severity="low"),
        alert("Acme", 6, id=2, severity="high", sources=corroborated,
              pledges=("net-zero carbon emissions by 2040",)),
        alert("Acme", 1234567.4, unit="tCO2e", metric="scope3", id=3, base_year=None,
              contradiction="another outlet reported 1,100,000 tCO2e for 2024"),
    ]


class TagCollector(HTMLParser):
    """Collects start tags and their attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = TagCollector()
    p.feed(html)
    return p.tags


def test_subject_counts_alerts_and_companies():
    d = render_digest(three_alerts(), now=NOW)
    assert isinstance(d, Digest)
    assert d.subject == "Pledgewatch: 3 emission increases at 2 companies"
    assert d.alert_ids == (1, 2, 3)
    assert d.created == NOW
    one = render_digest([alert("Acme")], now=NOW)
    assert one.subject == "Pledgewatch: 1 emission increase at 1 company"


def test_grouped_by_company_most_severe_first():
    d = render_digest(three_alerts(), now=NOW)
    # Acme (a high-severity alert) before Beta Corp (low), each company heading once
    assert d.text.count("== Acme ==") == 1
    assert d.text.index("== Acme ==") < d.text.index("== Beta Corp ==")
    acme_part = d.text[d.text.index("== Acme =="):d.text.index("== Beta Corp ==")]
    # within Acme: the high-severity, three-outlet alert first
    assert acme_part.index("Greenhouse gas emissions up 6%") < acme_part.index("Scope 3 emissions up")
    html_h2 = re.findall(r"<h2[^>]*>([^<]*)</h2>", d.html)
    assert html_h2 == ["Acme", "Beta Corp"]


def test_company_names_group_case_insensitively():
    d = render_digest([alert("Acme", 5, id=1), alert("ACME", 7, id=2, year=2023, base_year=2022)], now=NOW)
    assert d.subject == "Pledgewatch: 2 emission increases at 1 company"
    assert len(re.findall(r"<h2", d.html)) == 1


def test_alert_wording_values_and_periods():
    a, b, c = three_alerts()
    assert change_headline(b) == "Greenhouse gas emissions up 6% in 2024 vs 2023"
    assert change_headline(c) == "Scope 3 emissions up 1,234,567 tCO2e in 2024"
    energy = alert("X", 2.5, metric="energy", year=None, base_year=2019)
    assert change_headline(energy) == "Energy use up 2.5% since 2019"
    assert format_value(12000, "tCO2e") == "12,000 tCO2e"
    assert format_value(0.25, "%") == "0.25%"
    d = render_digest([b, c], now=NOW)
    for part in (d.text, d.html):
        assert "Greenhouse gas emissions up 6% in 2024 vs 2023" in part
        assert "1,234,567 tCO2e" in part
        assert "Status: reported" in part
        assert "high" in part


def test_outlets_sources_and_evidence_shown():
    d = render_digest(three_alerts(), now=NOW)
    for part in (d.text, d.html):
        assert "3 independent outlets: reuters.com, ft.com, bbc.co.uk" in part
        assert "Acme said emissions rose 6% in 2024." in part
    assert '"Acme said emissions rose 6% in 2024."' in d.text  # quoted
    hrefs = [attrs["href"] for tag, attrs in tags_of(d.html) if tag == "a"]
    assert "https://www.reuters.com/acme" in hrefs and "https://ft.com/acme" in hrefs
    assert "https://www.bbc.co.uk/news/acme" in d.text
    assert outlets(three_alerts()[1].sources) == ("reuters.com", "ft.com", "bbc.co.uk")
    # the same host twice is one outlet
    same = (source("https://a.example/1"), source("https://www.a.example/2"))
    assert outlets(same) == ("a.example",)


def test_pledge_gap_and_contradiction_shown():
    d = render_digest(three_alerts(), now=NOW)
    for part in (d.text, d.html, d.markdown):
        assert "net-zero carbon emissions by 2040" in part
        assert "another outlet reported 1,100,000 tCO2e for 2024" in part
    assert "Pledge: net-zero carbon emissions by 2040" in d.text
    assert "Contradiction: another outlet reported" in d.text
    # an alert without pledge or contradiction says neither
    plain = render_digest([alert("Beta Corp")], now=NOW)
    assert "Pledge:" not in plain.text and "Contradiction:" not in plain.text


def test_hostile_text_is_escaped_in_html():
    evil = source("javascript:alert(1)", title=f"Title {HOSTILE}{ONERROR}", sentence=f"Quote {HOSTILE} {ONERROR}")
    good = source('https://ok.example/a?q=1&r="x"onmouseover="y', title="Fine")
    a = alert(f"Evil {HOSTILE} Inc{ONERROR}", sources=(evil, good), pledges=(HOSTILE,), contradiction=ONERROR)
    d = render_digest([a], now=NOW)
    assert "<script" not in d.html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in d.html
    tags = tags_of(d.html)
    assert all("onerror" not in attrs and "onmouseover" not in attrs for _, attrs in tags)
    assert not any(tag == "script" for tag, _ in tags)
    hrefs = [attrs.get("href") for tag, attrs in tags if tag == "a"]
    assert hrefs == ['https://ok.example/a?q=1&r="x"onmouseover="y']  # the quote stayed inside the value
    assert not any("javascript:" in (h or "") for h in hrefs)
    assert "javascript:alert(1)" in d.html  # still shown, as text
    # text part: the outlet's words verbatim, no markup of ours
    assert f"Evil {HOSTILE} Inc{ONERROR}" in d.text
    # Markdown: no raw tag, no javascript link
    assert "<script" not in d.markdown and "](javascript" not in d.markdown
    assert safe_href("javascript:alert(1)") is None
    assert safe_href(" JAVASCRIPT:alert(1)") is None
    assert safe_href("data:text/html,hi") is None
    assert safe_href("https://example.com/x") == "https://example.com/x"


def test_text_part_has_no_html():
    d = render_digest(three_alerts(), now=NOW)
    assert not re.search(r"</?[a-z][a-z0-9]*[\s>/]", d.text)
    assert "&lt;" not in d.text and "&amp;" not in d.text and "&ldquo;" not in d.text
    assert d.text.endswith("\n") and "\n\n\n" not in d.text


def test_html_is_self_contained():
    html = render_digest(three_alerts(), now=NOW).html
    assert html.lstrip().lower().startswith("<!doctype html>")
    tags = tags_of(html)
    names = {t for t, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "style", "object"}
    assert all(not (attrs.get("src")) for _, attrs in tags)
    assert any("style" in attrs for _, attrs in tags)  # inline CSS


def test_empty_digest_says_no_new_alerts():
    d = render_digest([], now=NOW)
    assert d.subject == "Pledgewatch: no new alerts"
    assert d.alert_ids == ()
    for part in (d.text, d.html, d.markdown):
        assert "No new alerts" in part
    assert "<h2" not in d.html


def test_title_and_fx_note():
    d = render_digest([alert("Acme")], now=NOW, title="Weekly <b>climate</b> digest",
                      fx_note="Amounts in USD at rates of 2025-01-02.")
    assert "Weekly &lt;b&gt;climate&lt;/b&gt; digest" in d.html
    assert "Weekly <b>climate</b> digest" in d.text
    for part in (d.text, d.html, d.markdown):
        assert "Amounts in USD at rates of 2025-01-02." in part


def test_markdown_escapes_and_links():
    d = render_digest(three_alerts(), now=NOW)
    assert d.markdown.startswith("# Pledgewatch digest\n")
    assert "## Acme" in d.markdown and "## Beta Corp" in d.markdown
    assert "[Report 0](<https://www.reuters.com/acme>)" in d.markdown
    assert "> Acme said emissions rose 6% in 2024." in d.markdown
    assert md_escape("a [b](javascript:x) <i>") == "a \\[b\\]\\(javascript:x\\) &lt;i&gt;"


def test_rendering_is_deterministic():
    a = render_digest(three_alerts(), now=NOW)
    b = render_digest(list(reversed(three_alerts())), now=NOW)
    assert a.text == b.text and a.html == b.html


# -- investments, pledges --------------------------------------------------------------------

def investment(company: str, amount: float, currency: str, usd: float, *, purpose: str | None = "data centres",
               year: int | None = 2030, id: int = 10, fx_date: str = "2025-06-30",
               sources: tuple[Source, ...] = ()) -> Alert:
    return Alert(key=f"investment|{company}|2025|{id}", company=company, metric="investment", direction="",
                 value=amount, unit=currency, status="announced", year=year, base_year=None,
                 sources=sources or (source(f"https://biz{id}.example.com/a", sentence=f"{company} will invest."),),
                 first_seen=NOW, severity="high", id=id, kind="investment", amount_usd=usd, fx_date=fx_date,
                 purpose=purpose)


def test_large_investments_section_with_dated_conversion():
    euro = investment("Siemens", 10e9, "EUR", 10.9e9, purpose="grid factories", id=11)
    dollars = investment("Amazon", 15e9, "USD", 15e9, purpose="Ohio data centres", id=12, year=None)
    d = render_digest([alert("Acme"), euro, dollars], now=NOW)
    assert d.subject == "Pledgewatch: 1 emission increase at 1 company, 2 large investments"
    for part in (d.text, d.html, d.markdown.replace("\\", "")):
        assert "Large investments" in part
        assert "(≈ $10.9bn at 2025-06-30 rates)" in part  # the date wherever a converted amount is
        assert part.index("Amazon: $15bn for Ohio data centres") < part.index("Siemens: €10bn")  # largest first
        assert part.index("Acme") < part.index("Large investments")
    assert "Siemens: €10bn (≈ $10.9bn at 2025-06-30 rates) for grid factories, by 2030" in d.text
    # the note under the section names the table's date; not shown when nothing was converted
    assert "exchange-rate table as of 2025-06-30" in d.text
    assert "exchange-rate table" not in render_digest([dollars], now=NOW).text
    assert render_digest([dollars], now=NOW).subject == "Pledgewatch: 1 large investment"
    assert "== Large investments ==" not in render_digest([alert("Acme")], now=NOW).text


def test_investment_purpose_is_escaped():
    evil = investment("Evil Inc", 2e9, "GBP", 2.6e9, purpose=f"{HOSTILE} {ONERROR}")
    d = render_digest([evil], now=NOW)
    assert "<script" not in d.html.lower() and "&lt;script&gt;" in d.html
    assert all("onerror" not in attrs for _, attrs in tags_of(d.html))
    assert "<script" not in d.markdown


def test_repeated_pledges_are_listed_once():
    a = alert("Google", pledges=("net-zero by 2030", "net-zero emissions by 2030", "Net Zero by 2030",
                                 "carbon-neutral by 2030", "net-zero financed emissions by 2050",
                                 "net-zero by 2050"))
    d = render_digest([a], now=NOW)
    assert "Pledge: net-zero by 2030; carbon-neutral by 2030; net-zero financed emissions by 2050; " \
           "net-zero by 2050\n" in d.text
    assert d.html.count("net-zero emissions by 2030") == 0


def test_demo_style_pledge_duplicates_from_the_store(tmp_path):
    from monitor.store import Store
    from monitor.types import Article, EmissionChange, Target

    with Store.open(tmp_path / "pw.db") as store:
        from monitor.config import FeedConfig
        from monitor.types import FeedEntry

        store.sync_feeds([FeedConfig(url="https://news.example.com/feed")], NOW)
        entry = store.add_entry(FeedEntry("https://news.example.com/feed", "e1", "https://news.example.com/a",
                                          "Google"), NOW)
        rise = EmissionChange("Google", "ghg", "increase", 11.0, "%", 2023, 2024, "reported")
        facts = [rise, Target("Google", "net-zero", 2030), Target("Google", "net-zero emissions", 2030)]
        art = store.save_extraction(entry, Article("https://news.example.com/a", "Google", "text"), facts, "t", NOW)
        store.record_alert(rise, key="google|ghg|increase|2024|11%", article_id=art, now=NOW, severity="normal",
                           source=Source("https://news.example.com/a", "Google", None, NOW, "Emissions rose 11%."))
        (stored,) = store.alerts()
    assert set(stored.pledges) == {"net-zero by 2030", "net-zero emissions by 2030"}  # as stored
    assert "Pledge: net-zero by 2030\n" in render_digest([stored], now=NOW).text  # shown once
