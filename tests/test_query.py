"""`pledgewatch query ...` on a real SQLite store in tmp_path, filled through Store methods.

Every query command in every format; `query sql` refuses writes; search highlights; the
timeline puts emission changes, investments and pledges side by side by year; the chart.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.alerts import alert_key, severity
from monitor.cli import cli
from monitor.cli_query import fit_widths, format_markdown, timeline_rows
from monitor.store import Store
from monitor.types import Article, EmissionChange, Evidence, Fact, FeedEntry, Investment, Source, Target

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
FEED = "http://127.0.0.1:9/feed.xml"

STORIES = [
    # (n, url, title, published, text, facts)
    (1, "https://news.example/acme-2023", "Acme emissions climb",
     datetime(2024, 3, 1, tzinfo=UTC),
     "Acme Corp said its greenhouse gas emissions rose 12% in 2023 as data centres expanded.",
     [EmissionChange("Acme Corp", "ghg", "increase", 12.0, "%", 2022, 2023, "reported")]),
    (2, "https://other.example/acme-pledge", "Acme pledges net zero",
     datetime(2021, 6, 1, tzinfo=UTC),
     "Acme Corp pledged to reach net zero by 2040 and to invest $2 billion in renewable power by 2030.",
     [Target("Acme Corp", "net zero", 2040),
      Investment("Acme Corp", 2e9, "USD", "renewable power", 2030, "announced")]),
    (3, "https://news.example/acme-2022", "Acme cuts",
     datetime(2023, 2, 1, tzinfo=UTC),
     "Acme Corp reported that its scope 1 emissions fell 4% in 2022.",
     [EmissionChange("Acme Corp", "scope1", "decrease", 4.0, "%", None, 2022, "reported")]),
    (4, "https://third.example/globex", "Globex | datacentre spending",
     datetime(2024, 4, 1, tzinfo=UTC),
     "Globex will spend €500 million on data centres, while its electricity use grew.",
     [Investment("Globex", 5e8, "EUR", "data centres", None, "announced")]),
]


def _with_evidence(fact: Fact, text: str) -> Fact:
    from dataclasses import replace

    return replace(fact, evidence=Evidence(text, 0, len(text), 0.8))


def fill(path: Path) -> Path:
    """A store with four articles, their facts, and one alert (sent by smtp)."""
    with Store.open(path) as store:
        for n, url, title, published, text, facts in STORIES:
            entry = FeedEntry(feed_url=FEED, entry_id=f"g{n}", link=url, title=title, published=published)
            rowid = store.add_entry(entry, T0)
            assert rowid is not None
            article = Article(url=url, title=title, text=text, published=published, language="en")
            facts = [_with_evidence(f, text) for f in facts]
            article_id = store.save_extraction(rowid, article, facts, "test-1", T0)
            for f in facts:
                if isinstance(f, EmissionChange) and f.direction == "increase":
                    src = Source(url=url, title=title, feed=FEED, published=published, sentence=text)
                    store.record_alert(f, key=alert_key(f), article_id=article_id, source=src, now=T0,
                                       severity=severity(f.value, f.unit, 1))
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill(tmp_path_factory.mktemp("query") / "pw.db")


def run(*args: str, ok: bool = True, color: bool = False) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, list(args), color=color, env={"COLUMNS": "200", "PLEDGEWATCH_CONFIG": ""})
    if ok:
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return result.exit_code, result.stdout, result.stderr


def md_rows(text: str) -> list[list[str]]:
    """The cells of a Markdown table (header first), checking its shape."""
    lines = [ln for ln in text.strip().splitlines() if ln.startswith("|")]
    assert len(lines) >= 2 and re.fullmatch(r"\|( --- \|)+", lines[1]), text
    rows = [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
    assert len({len(r) for r in rows}) == 1, "every Markdown row has the same number of cells"
    return [rows[0], *rows[2:]]


# -- every command in every format -----------------------------------------------------------

COMMANDS = {
    "alerts": ["query", "alerts"],
    "facts": ["query", "facts", "--company", "acme corp"],
    "companies": ["query", "companies"],
    "timeline": ["query", "timeline", "Acme Corp"],
    "search": ["query", "search", "emissions"],
    "sql": ["query", "sql", "SELECT company, type, year FROM facts ORDER BY id"],
}
EXPECTED_ROWS = {"alerts": 1, "facts": 4, "companies": 2, "timeline": 3, "search": None, "sql": 5}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_query_command_in_json_csv_markdown_and_table(db: Path, name: str) -> None:
    args = [*COMMANDS[name], "--db", str(db)]
    _, out, _ = run(*args, "--format", "json")
    data = json.loads(out)
    assert isinstance(data, list) and data
    if EXPECTED_ROWS[name] is not None:
        assert len(data) == EXPECTED_ROWS[name]

    _, out, _ = run(*args, "--format", "csv")
    records = list(csv.DictReader(io.StringIO(out)))
    assert len(records) == len(data)

    _, out, _ = run(*args, "--format", "markdown")
    table = md_rows(out)
    assert len(table) - 1 == len(data)

    _, out, _ = run(*args)  # table
    lines = out.rstrip("\n").splitlines()
    if name == "search":
        assert lines[0].startswith("1. ")
    else:
        assert set(lines[1].replace(" ", "")) == {"-"}, out  # the rule under the header
        assert len(lines) == len(data) + 2
        assert max(map(len, lines)) <= 200


@pytest.mark.parametrize("columns", [40, 80])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_table_fits_the_terminal_width(db: Path, name: str, columns: int) -> None:
    args = [*COMMANDS[name], "--db", str(db)]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": str(columns), "PLEDGEWATCH_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert max(map(len, result.stdout.splitlines())) <= columns, result.stdout
    wide = CliRunner().invoke(cli, args, env={"COLUMNS": "250", "PLEDGEWATCH_CONFIG": ""})
    if name in ("facts", "timeline", "search"):  # rows longer than the narrow terminal: cut or wrapped
        assert max(map(len, wide.stdout.splitlines())) > columns
        assert "…" in result.stdout or name == "search"


def test_long_evidence_is_cut_with_an_ellipsis_and_hidden_columns_are_named(db: Path) -> None:
    env = {"COLUMNS": "100", "PLEDGEWATCH_CONFIG": ""}
    out = CliRunner().invoke(cli, ["query", "facts", "--db", str(db)], env=env).stdout
    header, rule, *rows = out.splitlines()
    assert header.split() == ["published", "type", "company", "fact", "url", "evidence"]
    assert all(len(line) <= 100 for line in out.splitlines()) and len(rows) == 5
    assert all(line.endswith("…") for line in rows)  # every evidence sentence, cut to fit
    assert "2024-03-01  emission_change  Acme Corp  increase 12% ghg" in out  # short columns kept whole
    wide = CliRunner().invoke(cli, ["query", "facts", "--db", str(db)], env={**env, "COLUMNS": "400"}).stdout
    assert STORIES[0][4] in wide  # room enough: the whole sentence
    narrow = CliRunner().invoke(cli, ["query", "facts", "--db", str(db)], env={**env, "COLUMNS": "30"}).stdout
    assert narrow.splitlines()[0].startswith("publi")
    note = narrow.splitlines()[-1]
    assert note.startswith("(not shown: ") and "evidence" in note and len(note) <= 30


def test_fit_widths() -> None:
    assert fit_widths([4, 10, 30], 200) == [4, 10, 30]  # fits: unchanged
    assert fit_widths([4, 10, 30], 30) == [4, 10, 12]  # the widest is cut first
    assert fit_widths([4, 40, 40], 30) == [4, 11, 11]
    assert fit_widths([10, 10, 10, 10], 16) == [7, 7]  # at the floor, columns go from the right
    assert fit_widths([50], 20) == [20] and fit_widths([50], 3) == [3]


def test_alerts_json_contract_and_markdown(db: Path) -> None:
    _, out, _ = run("query", "alerts", "--db", str(db), "--format", "json")
    (alert,) = json.loads(out)
    assert {k: alert[k] for k in ("company", "metric", "direction", "value", "unit", "status", "year")} == {
        "company": "Acme Corp", "metric": "ghg", "direction": "increase", "value": 12.0, "unit": "%",
        "status": "reported", "year": 2023}
    assert alert["sources"] == ["https://news.example/acme-2023"]
    _, out, _ = run("query", "alerts", "--db", str(db), "--format", "markdown")
    header, row = md_rows(out)
    assert row[header.index("company")] == "Acme Corp" and row[header.index("value")] == "12"


def test_markdown_escapes_pipes_and_newlines() -> None:
    text = format_markdown([{"a": "x | y", "b": "line1\nline2"}], ["a", "b"])
    assert "x \\| y" in text and "line1<br>line2" in text
    assert md_rows(text)[1] == ["x \\| y", "line1<br>line2"]
    assert format_markdown([], ["a"]) == "_(no rows)_"


def test_companies_counts(db: Path) -> None:
    _, out, _ = run("query", "companies", "--db", str(db), "--format", "json")
    by_name = {r["name"]: r for r in json.loads(out)}
    assert set(by_name) == {"Acme Corp", "Globex"}
    assert (by_name["Acme Corp"]["emission_changes"], by_name["Acme Corp"]["investments"],
            by_name["Acme Corp"]["targets"]) == (2, 1, 1)
    assert by_name["Globex"]["investments"] == 1


def test_facts_filters(db: Path) -> None:
    _, out, _ = run("query", "facts", "--db", str(db), "--format", "json", "--type", "emission_change",
                    "--metric", "scope1")
    rows = json.loads(out)
    assert [(r["company"], r["direction"], r["year"]) for r in rows] == [("Acme Corp", "decrease", 2022)]
    _, out, _ = run("query", "facts", "--db", str(db), "--format", "json", "--since", "2024-01-01")
    assert {r["url"] for r in json.loads(out)} == {STORIES[0][1], STORIES[3][1]}


def test_facts_pages_newest_first_with_limit_and_offset(db: Path) -> None:
    args = ["query", "facts", "--db", str(db), "--format", "json"]
    _, out, _ = run(*args, "--limit", "0")
    everything = json.loads(out)
    assert len(everything) == 5
    stamps = [r["published"] for r in everything]
    assert stamps == sorted(stamps, reverse=True)
    pages = []
    for offset in (0, 2, 4):
        _, out, err = run(*args, "--limit", "2", "--offset", str(offset))
        pages.append(json.loads(out))
        assert (f"--offset {offset + 2} for the next page" in err) == (offset < 4), err
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in everything]


def test_facts_default_limit_is_100(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    text = "Acme Corp pledged a great many things."
    facts = [Target("Acme Corp", f"goal {n}", 2030 + n, evidence=Evidence(text, 0, len(text), 0.5)) for n in range(105)]
    with Store.open(path) as store:
        rowid = store.add_entry(FeedEntry(feed_url=FEED, entry_id="many", link="https://a.example/m", title="M"), T0)
        assert rowid is not None
        store.save_extraction(rowid, Article(url="https://a.example/m", title="M", text=text), facts, "t", T0)
    _, out, err = run("query", "facts", "--db", str(path), "--format", "json")
    assert len(json.loads(out)) == 100 and "--limit 0 for all" in err
    _, out, _ = run("query", "facts", "--db", str(path), "--format", "csv", "--limit", "0")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 105
    _, out, _ = run("query", "facts", "--db", str(path), "--company", "acme corp", "--format", "json")
    assert len(json.loads(out)) == 100  # the company path pages too


# -- timeline --------------------------------------------------------------------------------

def test_timeline_puts_the_three_kinds_side_by_side_by_year(db: Path) -> None:
    _, out, _ = run("query", "timeline", "acme corp", "--db", str(db), "--format", "json")
    rows = {r["year"]: r for r in json.loads(out)}
    # Changes sit at the year they describe; pledges and investments at the year announced.
    assert sorted(rows) == [2021, 2022, 2023]
    assert rows[2021]["pledges"] == ["net zero by 2040"]
    assert rows[2021]["investments"] == ["USD 2bn renewable power by 2030 (announced)"]
    assert rows[2022]["emissions"] == ["decrease 4% scope1 (reported)"]
    assert rows[2023]["emissions"] == ["increase 12% ghg vs 2022 (reported)"]
    assert rows[2023]["sources"] == [STORIES[0][1]]
    assert rows[2021]["emissions"] == [] and rows[2023]["pledges"] == []
    _, table, _ = run("query", "timeline", "Acme Corp", "--db", str(db))
    header = table.splitlines()[0].split()
    assert header[:4] == ["year", "emissions", "investments", "pledges"]
    assert "net zero by 2040" in table and "increase 12% ghg" in table


def test_timeline_unknown_company_is_one_line_error(db: Path) -> None:
    code, _, err = run("query", "timeline", "Initech", "--db", str(db), ok=False)
    assert code == 1
    assert err.strip().startswith("pledgewatch: error: no facts about 'Initech'") and err.count("\n") == 1


def test_timeline_rows_groups_and_dedups() -> None:
    facts = [
        {"type": "target", "goal": "net zero", "year": 2040, "published": "2020-01-02T00:00:00+00:00", "url": "u1"},
        {"type": "target", "goal": "net zero", "year": 2040, "published": "2020-05-02T00:00:00+00:00", "url": "u2"},
        {"type": "emission_change", "direction": "increase", "value": 3.0, "unit": "tCO2e", "metric": "scope2",
         "status": "forecast", "year": None, "base_year": 2019, "published": "2020-01-01", "url": "u3"},
    ]
    rows = timeline_rows(facts)
    assert [r["year"] for r in rows] == [2019, 2020]
    assert rows[1]["pledges"] == ["net zero by 2040"] and rows[1]["sources"] == ["u1", "u2"]
    assert rows[0]["emissions"] == ["increase 3 tCO2e scope2 (forecast)"]


def test_timeline_chart_svg_and_png(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (the 'chart' extra) is not installed")
    svg = tmp_path / "acme.svg"
    run("query", "timeline", "Acme Corp", "--db", str(db), "--chart", str(svg))
    content = svg.read_text()
    assert content.lstrip().startswith("<?xml") and "<svg" in content
    assert "Acme Corp" in content  # the title (text kept as text or as glyph ids with a comment)
    png = tmp_path / "acme.png"
    run("query", "timeline", "Acme Corp", "--db", str(db), "--chart", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_timeline_chart_without_matplotlib_is_one_line_naming_the_extra(db: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None; from monitor.cli import main; "
            f"main(['query', 'timeline', 'Acme Corp', '--db', {str(db)!r}, '--chart', {str(tmp_path / 'c.svg')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent, env={"PLEDGEWATCH_CONFIG": "", "PATH": ""})
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "pledgewatch: error: --chart needs matplotlib: pip install 'pledgewatch[chart]'\n"
    assert not (tmp_path / "c.svg").exists()


def test_timeline_chart_refuses_other_suffixes(db: Path, tmp_path: Path) -> None:
    code, _, err = run("query", "timeline", "Acme Corp", "--db", str(db), "--chart", str(tmp_path / "x.pdf"),
                       ok=False)
    assert code == 2 and ".svg or .png" in err


# -- search ----------------------------------------------------------------------------------

def test_search_finds_and_highlights_with_links(db: Path) -> None:
    _, out, _ = run("query", "search", "data centres", "--db", str(db), "--format", "json")
    rows = json.loads(out)
    urls = {r["url"] for r in rows}
    assert urls == {STORIES[0][1], STORIES[3][1]}  # both articles mention data centres
    assert all("[data]" in r["snippet"] and "[centres]" in r["snippet"] for r in rows)
    assert {r["kind"] for r in rows} == {"article", "fact"}

    _, out, _ = run("query", "search", "data centres", "--db", str(db), "--format", "markdown")
    assert "**data** **centres**" in out
    assert f"[Acme emissions climb]({STORIES[0][1]})" in out
    assert "Globex \\| datacentre spending" in out  # pipes in titles escaped

    _, plain, _ = run("query", "search", "data centres", "--db", str(db))
    assert "[data] [centres]" in plain and STORIES[3][1] in plain and "\x1b[" not in plain
    _, coloured, _ = run("query", "search", "data centres", "--db", str(db), color=True)
    assert "\x1b[1m" in coloured or "\x1b[33m" in coloured  # bold/yellow where colour is kept


def test_search_without_matches_and_fts_syntax_is_quoted(db: Path) -> None:
    _, out, _ = run("query", "search", "zeppelin", "--db", str(db))
    assert out.strip() == "(no matches)"
    _, out, _ = run("query", "search", '"net zero', "--db", str(db), "--format", "json")
    assert {r["url"] for r in json.loads(out)} == {STORIES[1][1]}


def test_search_recent_matches_search_below_the_window_and_keeps_to_it_above(db: Path) -> None:
    with Store.open_readonly(db) as store:
        for words in ("data centres", "acme", "emissions net zero", "Globex"):
            assert store.search_recent(words, window=1000) == store.search(words)
        newest = store.search_recent("acme", window=1)
    # One newest match per index: the newest Acme article (id 3) and the newest Acme fact (id 4).
    assert sorted((r["kind"], r["article_id"]) for r in newest) == [("article", 3), ("fact", 3)]
    _, out, _ = run("query", "search", "acme", "--window", "1", "--db", str(db), "--format", "json")
    assert {r["article_id"] for r in json.loads(out)} == {3}


# -- sql -------------------------------------------------------------------------------------

def test_sql_select_and_views(db: Path) -> None:
    _, out, _ = run("query", "sql", "SELECT company, value, year FROM emission_increases", "--db", str(db),
                    "--format", "json")
    assert json.loads(out) == [{"company": "Acme Corp", "value": 12.0, "year": 2023}]
    _, out, _ = run("query", "sql", "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name",
                    "--db", str(db), "--format", "csv")
    names = out.split()
    assert names[0] == "name" and {"company_timeline", "emission_increases", "latest_alerts"} <= set(names)


@pytest.mark.parametrize("statement", [
    "INSERT INTO meta (key, value) VALUES ('x', 'y')",
    "UPDATE facts SET value = 0",
    "DELETE FROM alerts",
    "DROP TABLE facts",
    "DROP VIEW latest_alerts",
    "ATTACH DATABASE ':memory:' AS other",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA query_only = OFF",
    "PRAGMA user_version = 7",
    "CREATE TABLE x (a)",
    "ALTER TABLE facts ADD COLUMN x",
    "WITH c AS (SELECT 1) DELETE FROM facts",
    "REPLACE INTO meta (key, value) VALUES ('x', 'y')",
])
def test_sql_refuses_writes_with_one_clear_line(db: Path, statement: str) -> None:
    before = _digest(db)
    code, out, err = run("query", "sql", statement, "--db", str(db), ok=False)
    assert code == 1 and out == ""
    assert err.startswith("pledgewatch: error: query sql is read-only") and err.count("\n") == 1, err
    assert _digest(db) == before
    with Store.open_readonly(db) as store:
        assert store.query("SELECT COUNT(*) AS n FROM facts")[0]["n"] == 5


def test_sql_error_is_one_line(db: Path) -> None:
    code, _, err = run("query", "sql", "SELECT nope FROM facts", "--db", str(db), ok=False)
    assert code == 1 and "no such column: nope" in err and err.count("\n") == 1


def test_query_on_missing_database_says_so(tmp_path: Path) -> None:
    code, _, err = run("query", "companies", "--db", str(tmp_path / "none.db"), ok=False)
    assert code == 1 and "no such database" in err
    assert not (tmp_path / "none.db").exists()  # a query never creates the database


def test_queries_run_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = fill(tmp_path / "busy.db")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE facts SET value = 99 WHERE type = 'emission_change'")
    try:
        _, out, _ = run("query", "sql", "SELECT MAX(value) AS v FROM facts WHERE type = 'emission_change'",
                        "--db", str(path), "--format", "json")
        assert json.loads(out) == [{"v": 12.0}]  # the committed snapshot, not the pending write
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_since_is_respected_for_alerts(db: Path) -> None:
    later = (T0 + timedelta(days=1)).strftime("%Y-%m-%d")
    _, out, _ = run("query", "alerts", "--db", str(db), "--since", later, "--format", "json")
    assert json.loads(out) == []


# -- the store in other tools ----------------------------------------------------------------

def test_sqlite_utils_cli_searches_the_store_as_it_is(db: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "sqlite_utils", "search", str(db), "articles", "data centres",
                          "-c", "url"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert {r["url"] for r in json.loads(out)} == {STORIES[0][1], STORIES[3][1]}
    out = subprocess.run([sys.executable, "-m", "sqlite_utils", "query", str(db),
                          "SELECT company, value FROM emission_increases"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert json.loads(out) == [{"company": "Acme Corp", "value": 12.0}]


def test_search_index_survives_the_fts_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store.open(path, migrate_to=5) as store:
        rowid = store.add_entry(FeedEntry(feed_url=FEED, entry_id="x", link="https://a.example/x", title="Old"), T0)
        assert rowid is not None
        store.save_extraction(rowid, Article(url="https://a.example/x", title="Old", text="Zeppelin emissions."),
                              [], "v0", T0)
    with Store.open(path) as store:
        assert store.schema_version() >= 6
        assert [r["url"] for r in store.search("zeppelin")] == ["https://a.example/x"]


def test_every_sql_example_in_the_schema_docs_runs_read_only(db: Path) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "schema.md").read_text()
    statements = [s.strip() for block in re.findall(r"```sql\n(.*?)```", doc, re.S) for s in block.split(";")
                  if s.strip()]
    assert len(statements) >= 8
    results = []
    with Store.open_readonly(db) as store:
        for sql in statements:
            results.append(store.query(sql.replace("'Amazon'", "'Acme Corp'").replace("'Microsoft'", "'Globex'")))
    assert any(r and r[0].get("pledges") == "net zero by 2040" for r in results)  # the pledge-gap example


def test_schema_docs_name_every_table_and_view(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "schema.md").read_text()
    with Store.open(tmp_path / "fresh.db") as store:
        names = {r["name"] for r in store.query(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE '%fts_%' "
            "AND name NOT LIKE 'sqlite_%'")}
    assert {"facts", "articles", "emission_increases", "company_timeline", "latest_alerts"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"docs/schema.md does not describe: {missing}"
