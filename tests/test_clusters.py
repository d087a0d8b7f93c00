"""Story clusters (issue 4, "duplicates across outlets"): MinHash/LSH candidates confirmed by the
Jaccard similarity of word shingles; alerts count independent reports beside outlets.

The stories below are written for these tests (no publisher's text). End to end runs the real
Service (real extractor, real SQLite, real HTTP servers on 127.0.0.1, 127.0.0.2, 127.0.0.3 and
``localhost``, so each outlet has its own host name).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.clusters import (
    MIN_SHINGLES,
    Candidate,
    assign_cluster,
    bucket_keys,
    estimated_jaccard,
    jaccard,
    shingles,
    signature_of,
    unseen_facts,
)
from monitor.config import config_from_dict
from monitor.errors import ConfigError
from monitor.service import Service
from monitor.store import Store
from monitor.types import Article, EmissionChange, FeedEntry
from tests.server import LocalServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

WIRE = [
    "Ryanair said on Monday that its greenhouse gas emissions rose 9% in 2025 compared with 2024, "
    "as the low-cost airline flew more passengers than ever before across its European network.",
    "The Dublin-based carrier added more than two hundred routes last year and took delivery of "
    "dozens of new Boeing aircraft, which it says burn less fuel per seat than the planes they replace.",
    "Chief executive Michael O'Leary told reporters that growth would slow this summer because of "
    "delayed aircraft deliveries, and that fares were likely to rise on busy holiday routes.",
    "Environmental groups said the figures showed that efficiency gains were being overwhelmed by "
    "the sheer number of flights, and called on regulators to tax aviation fuel across the bloc.",
    "The airline repeated its pledge to reach net-zero emissions by 2050, relying on sustainable "
    "aviation fuel, newer engines and carbon offsets bought on behalf of its customers.",
]
EXTRA = ("Analysts at a Dublin brokerage said the numbers were in line with their forecasts and kept "
         "their buy rating on the shares, which have gained a fifth since January.")
OWN_STORY = [  # the same change, reported independently: different words throughout
    "Europe's biggest budget carrier has published its annual sustainability report, and the "
    "headline number moves in the wrong direction for climate campaigners watching the industry.",
    "According to the document, Ryanair's greenhouse gas emissions rose 9% in 2025 compared with 2024. "
    "Passenger numbers climbed faster still, so emissions per traveller edged down slightly.",
    "Our correspondent in Brussels notes that lawmakers are debating a kerosene levy, which the "
    "company has opposed, arguing that it would hurt tourism in southern member states.",
    "Shareholders are expected to raise the topic at the next annual meeting in Dublin, where "
    "several funds plan to ask for an interim target before the end of the decade.",
]
OTHER_SAME_COMPANY = [  # a different Ryanair story: shares the company, not the story
    "Ryanair has ordered another batch of narrow-body jets in a deal worth several billion euros at "
    "list prices, the airline confirmed in a statement to the stock exchange on Thursday.",
    "The order includes options for further aircraft to be delivered towards the end of the decade, "
    "and management said it would finance the purchase from cash reserves rather than new debt.",
    "Union representatives welcomed the news, saying it secured pilot and cabin crew jobs at bases "
    "in Italy and Spain, while analysts questioned whether demand would keep pace with capacity.",
    "Shares in the carrier rose two percent in early trading, outperforming the wider market index.",
]


def text(paras: list[str]) -> str:
    return "\n\n".join(paras)


def light_rewrite(paras: list[str]) -> list[str]:
    """A copy desk's touch: a few words changed, one sentence trimmed."""
    out = list(paras)
    out[0] = out[0].replace("said on Monday", "said on Monday morning").replace("low-cost airline", "budget airline")
    out[2] = out[2].replace("told reporters", "said in a call with journalists")
    out[3] = out[3].split(", and called")[0] + "."
    return out


def with_value(paras: list[str], value: str) -> list[str]:
    return [p.replace("rose 9%", f"rose {value}") for p in paras]


# -- pure: near-duplicates vs different stories --------------------------------------------------
CASES = [
    ("identical copy", text(WIRE), text(WIRE), True),
    ("wire copy with a paragraph added", text(WIRE), text([*WIRE[:3], EXTRA, *WIRE[3:]]), True),
    ("light rewrite", text(WIRE), text(light_rewrite(WIRE)), True),
    ("rewrite with a different value", text(WIRE), text(with_value(light_rewrite(WIRE), "12%")), True),
    ("independent report of the same change", text(WIRE), text(OWN_STORY), False),
    ("another story about the same company", text(WIRE), text(OTHER_SAME_COMPANY), False),
]


@pytest.mark.parametrize(("name", "first", "second", "same"), CASES, ids=[c[0] for c in CASES])
def test_near_duplicates_share_a_cluster_and_different_stories_do_not(name: str, first: str, second: str,
                                                                      same: bool) -> None:
    sig1, sig2 = signature_of(first), signature_of(second)
    candidate = Candidate(article_id=7, cluster_id=3, outlet="a.example", signature=sig1, text=first)
    got = assign_cluster(shingles(second), sig2, "b.example", [candidate], threshold=0.5)
    assert (got.cluster_id == 3) is same, (name, jaccard(shingles(first), shingles(second)))
    if same:
        assert got.matched_article == 7 and got.similarity >= 0.5 and got.duplicate_of is None
        # the LSH index would have proposed it: the two signatures share at least one bucket
        assert set(bucket_keys(sig1)) & set(bucket_keys(sig2))
    else:
        assert got.matched_article is None and got.similarity == 0.0


def test_a_wire_copy_with_a_new_headline_and_paragraph_scores_high_and_a_different_story_low() -> None:
    wire = shingles(text(WIRE))
    assert jaccard(wire, shingles("Airline emissions climb\n\n" + text([*WIRE, EXTRA]))) > 0.75
    assert jaccard(wire, shingles(text(OTHER_SAME_COMPANY))) < 0.05
    assert jaccard(wire, shingles(text(OWN_STORY))) < 0.2


def test_same_outlet_near_duplicate_is_marked_and_best_match_wins() -> None:
    first, copy = text(WIRE), text(light_rewrite(WIRE))
    cands = [Candidate(1, 1, "a.example", signature_of(text(OWN_STORY)), text(OWN_STORY)),
             Candidate(2, 2, "b.example", signature_of(first), first),
             Candidate(3, 2, "c.example", signature_of(copy), copy, duplicate_of=None)]
    got = assign_cluster(shingles(copy), signature_of(copy), "b.example", cands, threshold=0.5)
    assert got.cluster_id == 2 and got.matched_article == 3 and got.similarity == 1.0
    assert got.duplicate_of == 2  # b.example already carried this story as article 2
    # a chain of copies points at the first one
    cands = [Candidate(5, 4, "b.example", signature_of(first), first, duplicate_of=4)]
    assert assign_cluster(shingles(first), signature_of(first), "b.example", cands, 0.5).duplicate_of == 4


def test_short_texts_are_never_clustered() -> None:
    short = "Ryanair emissions rose 9% in 2025."
    assert len(shingles(short)) < MIN_SHINGLES
    cand = Candidate(1, 1, "a.example", signature_of(short), short)
    assert assign_cluster(shingles(short), signature_of(short), "b.example", [cand], 0.5).cluster_id is None


def test_purged_text_falls_back_to_the_minhash_estimate() -> None:
    a, b = text(WIRE), text([*WIRE, EXTRA])
    exact = jaccard(shingles(a), shingles(b))
    assert abs(estimated_jaccard(signature_of(a), signature_of(b)) - exact) < 0.15
    cand = Candidate(1, 1, "a.example", signature_of(a), text="")
    assert assign_cluster(shingles(b), signature_of(b), "b.example", [cand], 0.5).cluster_id == 1


def test_signature_is_stable_across_processes() -> None:
    code = ("import sys; from monitor.clusters import signature_of; "
            "sys.stdout.write(signature_of(sys.stdin.read()).hex())")
    out = subprocess.run([sys.executable, "-c", code], input=text(WIRE), capture_output=True, text=True,
                         check=True, timeout=120, env={"PYTHONHASHSEED": "12345", "PATH": ""},
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert bytes.fromhex(out) == signature_of(text(WIRE))
    assert len(signature_of(text(WIRE))) == 128 * 4


def test_unseen_facts_drops_repeats_and_keeps_a_corrected_value() -> None:
    def change(value: float) -> EmissionChange:
        return EmissionChange("Ryanair", "ghg", "increase", value, "%", 2024, 2025, "reported")

    stored = [{"type": "emission_change", "company": "Ryanair", "metric": "ghg", "direction": "increase",
               "value": 9.0, "unit": "%", "base_year": 2024, "year": 2025, "status": "reported", "amount": None}]
    assert unseen_facts([change(9)], stored) == []
    assert unseen_facts([change(9), change(12)], stored) == [change(12)]


def test_dedup_config_is_validated() -> None:
    cfg = config_from_dict({"dedup": {"threshold": 0.7, "window_days": 3}})
    assert (cfg.dedup.threshold, cfg.dedup.window_days, cfg.dedup.enabled) == (0.7, 3, True)
    with pytest.raises(ConfigError, match=r"\[dedup\] threshold"):
        config_from_dict({"dedup": {"threshold": 1.5}})
    with pytest.raises(ConfigError, match=r"\[dedup\] window_days"):
        config_from_dict({"dedup": {"window_days": 0}})


# -- store: candidates within the window, pruning, the story_clusters view -------------------------
def _article(store: Store, n: int, url: str, body: str, now: datetime) -> int:
    rowid = store.add_entry(FeedEntry(feed_url="http://feed.example/rss", entry_id=url, link=url, title=f"t{n}"), now)
    assert rowid is not None
    return store.save_extraction(rowid, Article(url=url, title=f"t{n}", text=body), [], "test", now)


def test_store_finds_candidates_in_the_window_and_prunes_old_ones(tmp_path: Path) -> None:
    from monitor.clusters import place_article

    with Store.open(tmp_path / "s.db") as store:
        def place(n: int, url: str, body: str, outlet: str, now: datetime) -> int:
            since = now - timedelta(days=14)
            p = place_article(body, outlet, lambda keys: store.cluster_candidates(keys, since=since), 0.5)
            aid = _article(store, n, url, body, now)
            return store.save_cluster(aid, p.assignment, outlet=outlet, signature=p.signature, buckets=p.buckets,
                                      now=now)

        c1 = place(1, "http://a.example/1", text(WIRE), "a.example", T0)
        c2 = place(2, "http://b.example/2", text([*WIRE, EXTRA]), "b.example", T0 + timedelta(hours=1))
        c3 = place(3, "http://c.example/3", text(OTHER_SAME_COMPANY), "c.example", T0 + timedelta(hours=2))
        assert c1 == c2 != c3
        rows = {r["cluster_id"]: r for r in store.story_clusters()}
        assert rows[c1]["articles"] == 2 and rows[c1]["outlets"] == 2 and rows[c1]["title"] == "t1"
        assert rows[c3]["articles"] == 1
        # 20 days later the first copies are outside the window: a new copy starts a new story
        late = T0 + timedelta(days=20)
        assert store.prune_cluster_index(late - timedelta(days=14)) == 3
        assert store.query("SELECT COUNT(*) AS n FROM lsh_buckets")[0]["n"] == 0
        c4 = place(4, "http://d.example/4", text(WIRE), "d.example", late)
        assert c4 not in (c1, c3)


# -- end to end over loopback ---------------------------------------------------------------------
class HostServer(LocalServer):
    """LocalServer listening on another loopback address (127.0.0.2, ...), so outlets differ by host."""

    def __init__(self, host: str) -> None:
        super().__init__()
        handler = self._httpd.RequestHandlerClass
        self._httpd.server_close()
        self._httpd = ThreadingHTTPServer((host, 0), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.host = host

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/travel">Travel</a></nav><article><h1>{title}</h1>
<p class="byline">By a staff reporter</p>{paras}</article><footer>Copyright {host}.</footer></body></html>"""


def page(title: str, paras: list[str], host: str) -> str:
    return PAGE.format(title=title, host=host, paras="".join(f"<p>{p}</p>" for p in paras))


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid>"
                   f"<pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate></item>" for t, u in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
            f"<link>http://example.invalid/</link><description>d</description>{body}</channel></rss>")


@pytest.fixture(scope="module")
def extractor():
    from monitor.extract import Extractor

    return Extractor.load()


@pytest.fixture
def outlets():
    """Four outlets on four host names: 127.0.0.1, localhost, 127.0.0.2, 127.0.0.3."""
    a = LocalServer()
    b_host = "localhost"
    with a, HostServer("127.0.0.2") as c, HostServer("127.0.0.3") as d:
        yield {"a": (a, "127.0.0.1", a.url), "b": (a, b_host, lambda p: f"http://{b_host}:{a.port}{p}"),
               "c": (c, "127.0.0.2", c.url), "d": (d, "127.0.0.3", d.url)}


def publish(outlets: dict, key: str, path: str, title: str, paras: list[str]) -> tuple[str, str]:
    srv, host, url = outlets[key]
    srv.route(path, page(title, paras, host), headers={"Content-Type": "text/html; charset=utf-8"})
    return title, url(path)


def run(tmp_path: Path, extractor, feeds: dict[str, list[tuple[str, str]]], server: LocalServer,
        now: datetime) -> Service:
    for name, items in feeds.items():
        server.route(f"/feeds/{name}.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
    cfg = config_from_dict({"storage": {"path": str(tmp_path / "pw.db")},
                            "fetch": {"allow_private_addresses": True},
                            "feeds": [{"url": server.url(f"/feeds/{n}.xml")} for n in feeds]})
    svc = Service(cfg, extractor=extractor)
    report = svc.run_cycle(now, ignore_schedule=True, send_digests=False)
    assert not report.errors, report.errors
    return svc


def test_three_outlets_one_wire_story_one_alert_one_independent_report(tmp_path: Path, extractor, outlets) -> None:
    a1 = publish(outlets, "a", "/a/ryanair.html", "Ryanair emissions rise 9% as passenger numbers soar", WIRE)
    a2 = publish(outlets, "a", "/a/amp/ryanair.html", "Ryanair emissions rise 9% as passenger numbers soar", WIRE)
    b = publish(outlets, "b", "/b/airline-carbon.html", "Budget airline's carbon footprint grows",
                [*WIRE[:3], EXTRA, *WIRE[3:]])
    c = publish(outlets, "c", "/c/ryanair-climate.html", "Ryanair: more flights, more emissions",
                light_rewrite(WIRE))
    server = outlets["a"][0]
    svc = run(tmp_path, extractor, {"a": [a1, a2], "b": [b], "c": [c]}, server, T0)
    with svc:
        alerts = svc.store.alerts()
        assert [(al.company, al.value, al.year) for al in alerts] == [("Ryanair", 9.0, 2025)]
        alert = alerts[0]
        assert {s.url for s in alert.sources} == {a1[1], b[1], c[1]}
        assert alert.independent_reports == 1  # three carriers, one story
        report = svc.store.query("SELECT outlets, independent_reports FROM alert_reports")
        assert report == [{"outlets": 3, "independent_reports": 1}]
        clusters = svc.store.story_clusters()
        assert [(r["articles"], r["outlets"], r["duplicates"]) for r in clusters] == [(4, 3, 1)]
        # outlet a's second URL is a duplicate of its first: stored, but without facts
        dup = svc.store.query("SELECT a.url, c.duplicate_of, (SELECT COUNT(*) FROM facts f WHERE f.article_id = a.id) "
                              "AS facts FROM article_clusters c JOIN articles a ON a.id = c.article_id "
                              "WHERE c.duplicate_of IS NOT NULL")
        assert len(dup) == 1 and dup[0]["facts"] == 0
        first = svc.store.query("SELECT COUNT(*) AS n FROM facts f JOIN articles a ON a.id = f.article_id "
                                "WHERE a.id = ? AND f.type = 'emission_change'", (dup[0]["duplicate_of"],))
        assert first[0]["n"] >= 1
        assert {dup[0]["url"], *(r["url"] for r in svc.store.query(
            "SELECT url FROM articles WHERE id = ?", (dup[0]["duplicate_of"],)))} == {a1[1], a2[1]}
        assert alert.severity == "normal"  # 9% with one independent report: not raised for three carriers

    # a fourth outlet reports the same change in its own words: a second independent report
    d = publish(outlets, "d", "/d/report.html", "Inside Ryanair's sustainability report", OWN_STORY)
    svc = run(tmp_path, extractor, {"a": [a1, a2], "b": [b], "c": [c], "d": [d]}, server, T0 + timedelta(hours=1))
    with svc:
        (alert,) = svc.store.alerts()
        assert len(alert.sources) == 4 and alert.independent_reports == 2
        assert len(svc.store.story_clusters()) == 2


def test_a_rewrite_with_a_different_value_is_flagged_as_a_contradiction(tmp_path: Path, extractor, outlets) -> None:
    a = publish(outlets, "a", "/a/ryanair.html", "Ryanair emissions rise 9%", WIRE)
    c = publish(outlets, "c", "/c/ryanair.html", "Ryanair emissions rise 12%", with_value(light_rewrite(WIRE), "12%"))
    svc = run(tmp_path, extractor, {"a": [a], "c": [c]}, outlets["a"][0], T0)
    with svc:
        alerts = svc.store.alerts()
        assert sorted(al.value for al in alerts) == [9.0, 12.0]
        assert all(al.contradiction for al in alerts)
        assert all(al.independent_reports == 1 for al in alerts)
        # same story (one cluster), two outlets, two values
        assert [(r["articles"], r["outlets"]) for r in svc.store.story_clusters()] == [(2, 2)]
