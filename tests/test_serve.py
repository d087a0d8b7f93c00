"""`pledgewatch serve`: the store in Datasette on loopback, in a real subprocess.

Metadata describes every table and view; the canned queries answer the issue's questions on a
real store; writes are refused; the alerts page loads in headless Chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli_query import CANNED_QUERIES, TABLE_DESCRIPTIONS
from monitor.store import Store
from tests.test_query import STORIES, fill

ROOT = Path(__file__).resolve().parent.parent

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill(tmp_path_factory.mktemp("serve") / "pw.db")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(db: Path) -> Iterator[str]:
    """`pledgewatch serve` running in a subprocess on a free loopback port; yields its base URL."""
    pytest.importorskip("datasette", reason="Datasette (the 'serve' extra) is not installed")
    port = _free_port()
    env = {**os.environ, "PLEDGEWATCH_CONFIG": ""}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "serve", "--db", str(db), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/-/versions.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _rows(url: str, **params: str) -> list[dict[str, object]]:
    resp = httpx.get(url, params={**params, "_shape": "array"}, timeout=20)
    assert resp.status_code == 200, (url, params, resp.text[:500])
    data = resp.json()
    assert isinstance(data, list)
    return data


def test_serve_answers_on_loopback_with_views_and_search(served: str, db: Path) -> None:
    name = db.stem
    alerts = _rows(f"{served}/{name}/latest_alerts.json")
    assert [(a["company"], a["value"], a["sources"]) for a in alerts] == [("Acme Corp", 12.0, STORIES[0][1])]
    timeline = _rows(f"{served}/{name}/company_timeline.json", company="acme corp")
    assert [(r["year"], r["type"]) for r in timeline] == [(2022, "emission_change"), (2023, "emission_change"),
                                                          (2030, "investment"), (2040, "target")]
    found = _rows(f"{served}/{name}/articles.json", _search="centres", _col="url")
    assert {r["url"] for r in found} == {STORIES[0][1], STORIES[3][1]}  # Datasette finds the FTS index


def test_metadata_describes_every_table_and_view(served: str, db: Path) -> None:
    name = db.stem
    meta = httpx.get(f"{served}/-/metadata.json", timeout=10).json()["databases"][name]
    with Store.open_readonly(db) as store:
        names = {r["name"] for r in store.query(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE '%fts%'")}
    assert names <= set(meta["tables"]), f"tables without a description: {names - set(meta['tables'])}"
    assert all(meta["tables"][n]["description"] for n in names)
    assert set(meta["queries"]) == set(CANNED_QUERIES)
    page = httpx.get(f"{served}/{name}/latest_alerts", timeout=10)
    assert page.status_code == 200 and "Acme Corp" in page.text
    assert TABLE_DESCRIPTIONS["latest_alerts"] in page.text


def test_canned_queries_answer_the_questions(served: str, db: Path) -> None:
    name = db.stem
    base = f"{served}/{name}"
    # "Which companies reported rising emissions?" (since a date; this quarter's has no rows in 2024 data)
    rising = _rows(f"{base}/rising_emissions_since.json", since="2024-01-01")
    assert [(r["company"], r["value"], r["url"]) for r in rising] == [("Acme Corp", 12.0, STORIES[0][1])]
    assert _rows(f"{base}/rising_emissions_since.json", since="2024-06-01") == []
    assert isinstance(_rows(f"{base}/rising_emissions_this_quarter.json"), list)
    # "What did Globex say about data-centre spending?" (full text over fact evidence)
    said = _rows(f"{base}/what_did_company_say.json", company="Globex", words="data centres")
    assert len(said) == 1 and said[0]["type"] == "investment" and "[data] [centres]" in str(said[0]["said"])
    assert _rows(f"{base}/what_did_company_say.json", company="Acme Corp", words="zeppelin") == []
    # "Acme's reported emissions vs its pledge, by year"
    by_year = {r["year"]: r for r in _rows(f"{base}/emissions_vs_pledge.json", company="acme corp")}
    assert by_year[2023]["reported_emissions"] == "increase 12.0% ghg (reported)"
    assert by_year[2040]["pledges"] == "net zero" and by_year[2022]["pledges"] is None
    gap = _rows(f"{base}/pledge_gap.json")
    assert [(r["company"], r["pledges"]) for r in gap] == [("Acme Corp", "net zero by 2040")]
    timeline = _rows(f"{base}/company_timeline.json", company="Acme Corp")
    assert len(timeline) == 4
    assert _rows(f"{base}/failing_feeds.json") == []


def test_serve_refuses_writes(served: str, db: Path) -> None:
    name = db.stem
    refused = httpx.get(f"{served}/{name}.json", timeout=10, params={"sql": "DELETE FROM facts"})
    assert refused.status_code == 400
    assert len(_rows(f"{served}/{name}/facts.json")) == 5  # still there


def test_serve_alerts_page_in_headless_chromium(served: str, db: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
                          "--dump-dom", f"{served}/{db.stem}/latest_alerts"],
                         capture_output=True, text=True, timeout=120).stdout
    assert "Acme Corp" in dom and "news.example/acme-2023" in dom
    assert TABLE_DESCRIPTIONS["latest_alerts"] in dom
