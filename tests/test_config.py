"""config.toml loads; every bad config raises ConfigError naming the file and the key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from monitor.config import FEED_SPEC, SPEC, Config, load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CONFIG_TOML = ROOT / "config.toml"

GOOD_FEED = '[[feeds]]\nurl = "https://example.org/feed.xml"\n'


def _write(tmp_path: Path, text: str, name: str = "pw.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


# --- the shipped config.toml ---------------------------------------------------------------

def test_shipped_config_loads_with_real_feeds():
    cfg = load_config(CONFIG_TOML)
    assert 15 <= len(cfg.feeds) <= 30
    assert len({f.url for f in cfg.feeds}) == len(cfg.feeds)
    for feed in cfg.feeds:
        assert feed.url.startswith("https://"), feed.url
        assert "127.0.0.1" not in feed.url and "localhost" not in feed.url
        assert feed.name and feed.tags
    assert cfg.storage.path == ROOT / "pledgewatch.db"
    assert cfg.digest.file.path is not None and cfg.digest.file.path.name == "digests"
    assert cfg.digest.smtp.host == "" and not cfg.digest.smtp.enabled


def test_shipped_config_values_match_the_code_defaults():
    cfg, default = load_config(CONFIG_TOML), Config()
    for section in ("fetch", "schedule", "alerts", "log"):
        assert getattr(cfg, section) == getattr(default, section), section
    assert cfg.extract.model == default.extract.model
    assert cfg.digest.smtp == default.digest.smtp
    assert (cfg.digest.schedule, cfg.digest.timezone, cfg.digest.send_empty) == (
        default.digest.schedule, default.digest.timezone, default.digest.send_empty)
    assert cfg.storage.retention_days == default.storage.retention_days


def _spec_keys(spec: dict, table: str = "") -> list[tuple[str, str]]:
    out = []
    for key, rule in spec.items():
        if isinstance(rule, dict):
            out += _spec_keys(rule, f"{table}.{key}" if table else key)
        else:
            out.append((table, key))
    return out


def _lines_by_table(text: str) -> dict[str, list[str]]:
    tables: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        m = re.fullmatch(r"\s*\[\[?([\w.]+)\]\]?\s*", line)
        if m:
            current = m.group(1)
            tables.setdefault(current, [])
        else:
            tables[current].append(line)
    return tables


def test_every_key_in_the_spec_is_in_config_toml_with_a_comment_above():
    tables = _lines_by_table(CONFIG_TOML.read_text(encoding="utf-8"))
    for table, key in _spec_keys(SPEC):
        lines = tables.get(table)
        assert lines is not None, f"[{table}] is missing from config.toml"
        pattern = re.compile(rf"^(# )?{re.escape(key)} = ")
        at = [i for i, line in enumerate(lines) if pattern.match(line)]
        assert at, f"[{table}] {key} is missing from config.toml"
        above = lines[at[0] - 1]
        assert above.startswith("#") and not pattern.match(above), f"[{table}] {key} has no comment above it"


def test_every_feed_key_is_documented():
    text = CONFIG_TOML.read_text(encoding="utf-8")
    for _, key in _spec_keys(FEED_SPEC):
        assert re.search(rf"^#\s+{key}\s+- ", text, re.M), f"[[feeds]] {key} is not documented"


def test_shipped_config_has_no_keys_beyond_the_spec():
    raw = tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))
    assert set(raw) <= set(SPEC) | {"feeds"}
    for feed in raw["feeds"]:
        assert set(feed) <= set(FEED_SPEC)


# --- bad configs ---------------------------------------------------------------------------

def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    msg = _error(missing)
    assert str(missing) in msg and "not found" in msg


def test_bad_toml_names_the_file_and_the_line(tmp_path):
    p = _write(tmp_path, '[fetch]\ntimeout = 20\nuser_agent = "unterminated\n')
    msg = _error(p)
    assert str(p) in msg and "not valid TOML" in msg and "line 3" in msg


def test_unknown_top_level_key(tmp_path):
    p = _write(tmp_path, 'colour = "blue"\n' + GOOD_FEED)
    msg = _error(p)
    assert str(p) in msg and "colour" in msg and "unknown key" in msg


def test_unknown_top_level_table(tmp_path):
    p = _write(tmp_path, "[fetcher]\ntimeout = 3\n")
    msg = _error(p)
    assert str(p) in msg and "fetcher" in msg and "unknown key" in msg


def test_unknown_nested_key(tmp_path):
    p = _write(tmp_path, "[digest.smtp]\nhostname = \"mail.example.org\"\n")
    msg = _error(p)
    assert str(p) in msg and "[digest.smtp] hostname" in msg and "unknown key" in msg


def test_unknown_key_in_a_feed(tmp_path):
    p = _write(tmp_path, GOOD_FEED + 'title = "x"\n')
    msg = _error(p)
    assert str(p) in msg and "[[feeds]] #1 title" in msg and "unknown key" in msg


@pytest.mark.parametrize(("toml", "key", "expected"), [
    ('[fetch]\ntimeout = "ten"\n', "[fetch] timeout", "a number"),
    ("[fetch]\nmax_bytes = 1.5\n", "[fetch] max_bytes", "a whole number"),
    ('[fetch]\nallow_private_addresses = "yes"\n', "[fetch] allow_private_addresses", "true or false"),
    ('[alerts]\nwatchlist = "Google"\n', "[alerts] watchlist", "a list of strings"),
    ("[digest.smtp]\nport = true\n", "[digest.smtp] port", "a whole number"),
    ("[storage]\npath = 3\n", "[storage] path", "a file path"),
    ('[[feeds]]\nurl = "https://example.org/f"\ninterval = "hourly"\n', "[[feeds]] #1 interval", "a whole number"),
    ('digest = "daily"\n', "digest", "a table"),
])
def test_wrong_type_names_the_key(tmp_path, toml, key, expected):
    p = _write(tmp_path, toml)
    msg = _error(p)
    assert str(p) in msg and key in msg and expected in msg


def test_feed_without_url(tmp_path):
    p = _write(tmp_path, GOOD_FEED + '\n[[feeds]]\nname = "No URL"\n')
    msg = _error(p)
    assert str(p) in msg and "[[feeds]] #2" in msg and "url" in msg and "required" in msg


@pytest.mark.parametrize("url", ["ftp://example.org/feed.xml", "file:///etc/passwd", "example.org/feed.xml"])
def test_non_http_feed_url(tmp_path, url):
    p = _write(tmp_path, f'[[feeds]]\nurl = "{url}"\n')
    msg = _error(p)
    assert str(p) in msg and "[[feeds]] #1 url" in msg and url in msg


def test_bad_timezone(tmp_path):
    p = _write(tmp_path, '[digest]\ntimezone = "Mars/Olympus_Mons"\n')
    msg = _error(p)
    assert str(p) in msg and "[digest] timezone" in msg and "Mars/Olympus_Mons" in msg


def test_smtp_host_without_recipients(tmp_path):
    p = _write(tmp_path, '[digest.smtp]\nhost = "mail.example.org"\nfrom = "pw@example.org"\n')
    msg = _error(p)
    assert str(p) in msg and "[digest.smtp] to" in msg


def test_a_good_small_config_loads(tmp_path):
    p = _write(tmp_path, '[storage]\npath = "x.db"\n[digest]\ntimezone = "Europe/London"\n' + GOOD_FEED)
    cfg = load_config(p)
    assert cfg.storage.path == tmp_path / "x.db"
    assert cfg.digest.timezone == "Europe/London"
    assert [f.url for f in cfg.feeds] == ["https://example.org/feed.xml"]
    assert load_config(p, db=tmp_path / "y.db").storage.path == tmp_path / "y.db"
