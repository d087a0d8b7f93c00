"""Money in US dollars through a static, dated exchange-rate table shipped as data.

The table is ``models/fx_usd.json`` (``usd_per_unit`` per ISO 4217 code, the date the rates are
from in ``as_of`` and where they come from in ``source``). Conversions are for deciding whether
an investment is large enough to alert on and for showing its size; every converted amount is
shown with the table's date (``€10bn (≈ $10.9bn at 2025-06-30 rates)``). Pure apart from reading
the table file once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from monitor.errors import MonitorError

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
FX_FILE = "fx_usd.json"

# Symbols written before an amount; other currencies show their ISO code after it.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "CNY": "CN¥"}
_SCALES = ((1e12, "tn"), (1e9, "bn"), (1e6, "m"))


@dataclass(frozen=True, slots=True)
class FxTable:
    """Rates to US dollars: how many dollars one unit of each currency buys, as of one date."""

    as_of: str  # 'YYYY-MM-DD'
    source: str
    rates: Mapping[str, float] = field(default_factory=dict)
    period: str = ""

    def to_usd(self, amount: float, currency: str) -> float | None:
        """``amount`` of ``currency`` in US dollars, or None when the currency is not in the table."""
        rate = self.rates.get((currency or "").strip().upper())
        return None if rate is None else float(amount) * rate

    def note(self) -> str:
        """The line a digest prints under converted amounts."""
        period = f" ({self.period})" if self.period else ""
        return f"Amounts in US dollars use static exchange rates as of {self.as_of}{period}; source: {self.source}."


def load_fx_table(models_dir: Path | str | None = None) -> FxTable:
    """The table in ``models_dir/fx_usd.json`` (else the repository's ``models/``); cached.

    Raises MonitorError naming the file when it is missing or malformed.
    """
    path = Path(models_dir or MODELS_DIR).resolve() / FX_FILE
    if models_dir and not path.exists():  # a custom models folder without its own table
        path = MODELS_DIR / FX_FILE
    return _load(path)


@cache
def _load(path: Path) -> FxTable:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MonitorError(f"{path}: cannot read the exchange-rate table: {e}") from e
    try:
        as_of, source, rates = str(raw["as_of"]), str(raw["source"]), raw["usd_per_unit"]
        table = {str(code).upper(): float(rate) for code, rate in rates.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MonitorError(f"{path}: expected as_of, source and usd_per_unit {{CODE: rate}}: {e!r}") from e
    bad = [code for code, rate in table.items() if not (len(code) == 3 and rate > 0 and math.isfinite(rate))]
    if bad or table.get("USD") != 1.0:
        raise MonitorError(f"{path}: rates must be positive per 3-letter code, USD 1.0 (bad: {bad or ['USD']})")
    return FxTable(as_of=as_of, source=source, rates=MappingProxyType(table), period=str(raw.get("period", "")))


def format_money(amount: float, currency: str) -> str:
    """'€10bn', '$2.5bn', '£750m', '12bn SEK', '$5,000'."""
    code = (currency or "").strip().upper()
    number = _short_number(abs(float(amount)))
    symbol = SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{number} {code}".strip()


def _short_number(v: float) -> str:
    for scale, suffix in _SCALES:
        if v >= scale:
            return f"{_sig(v / scale)}{suffix}"
    return f"{round(v):,}"


def _sig(v: float) -> str:
    """Three significant figures at most, no trailing zeros: 10, 10.9, 1.25, 250."""
    digits = max(0, 2 - int(math.floor(math.log10(v)))) if v > 0 else 0
    text = f"{v:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def converted_phrase(amount: float, currency: str, usd: float | None, as_of: str | None) -> str:
    """'€10bn (≈ $10.9bn at 2025-06-30 rates)'; US dollars as they are; without a rate, unconverted."""
    original = format_money(amount, currency)
    if (currency or "").strip().upper() == "USD":
        return original
    if usd is None or not as_of:
        return f"{original} (no exchange rate)"
    return f"{original} (≈ {format_money(usd, 'USD')} at {as_of} rates)"


__all__ = ["FxTable", "converted_phrase", "format_money", "load_fx_table"]
