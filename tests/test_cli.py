"""The command line's own pieces: table formatting and error lines."""

from __future__ import annotations

from click.testing import CliRunner

from monitor.cli import cli, format_table


def test_table_aligns_and_fits_width():
    rows = [{"company": "Amazon", "value": 6.0, "sources": ["https://a.example/x", "https://b.example/y"]},
            {"company": "A very long company name that will not fit in the narrow table", "value": 12.5}]
    out = format_table(rows, ["company", "value", "sources"], width=60)
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].startswith("company")
    assert "…" in out  # the long name was cut
    assert lines[2].split()[1] == "6"  # whole floats print as integers


def test_table_empty():
    assert format_table([], ["a"]) == "(no rows)"


def test_table_drops_empty_columns():
    out = format_table([{"a": "x", "b": None}], ["a", "b"], width=80)
    assert "b" not in out.splitlines()[0]


def test_unknown_command_is_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "pledgewatch" in result.output
