"""Write models/iso4217.json: the ISO 4217 currency list (code, name, minor unit).

Run from the repository root: ``.venv/bin/python models/build_iso4217.py``. Codes and English
names come from the Unicode CLDR data shipped with Babel (currencies in legal tender today, plus
the ISO fund and supranational codes); minor units follow ISO 4217 (2 unless listed below).
The output is committed; re-run when Babel's CLDR release changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from babel.core import get_global
from babel.numbers import get_currency_name

# ISO 4217 codes that are not legal tender of a territory (funds, supranational units, metals).
EXTRA = ["BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", "XAG", "XAU", "XBA", "XBB",
         "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX", "ZWG", "VED", "SLE"]
# ISO 4217 minor units other than 2 ('N.A.' units are written as null).
MINOR = {0: ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
             "VUV", "XAF", "XOF", "XPF"],
         3: ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"],
         4: ["CLF", "UYW"]}
NO_MINOR = ["XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"]


def current_codes() -> set[str]:
    """Codes in legal tender in some territory today, per CLDR."""
    codes: set[str] = set()
    for entries in get_global("territory_currencies").values():
        for code, _start, end, tender in entries:
            if end is None and tender:
                codes.add(code)
    return codes | set(EXTRA)


def minor_unit(code: str) -> int | None:
    if code in NO_MINOR:
        return None
    return next((n for n, codes in MINOR.items() if code in codes), 2)


def main() -> None:
    rows = [{"code": c, "name": get_currency_name(c, locale="en"), "minor_unit": minor_unit(c)}
            for c in sorted(current_codes())]
    out = Path(__file__).with_name("iso4217.json")
    out.write_text(json.dumps({"source": "ISO 4217 via Unicode CLDR (Babel)", "currencies": rows},
                              indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} currencies to {out}")


if __name__ == "__main__":
    main()
