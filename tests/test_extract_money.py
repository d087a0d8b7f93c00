"""Table-driven tests for the money grammar (monitor/extract/money.py)."""

from __future__ import annotations

import pytest

from monitor.extract.money import find_money, iso_currencies, parse_money

# (text, amount, currency) — each text is exactly one money expression.
PARSE_CASES: list[tuple[str, float, str]] = [
    # dollar symbols and prefixes
    ("$5", 5, "USD"),
    ("$14,000", 14_000, "USD"),
    ("$1,250,000", 1_250_000, "USD"),
    ("$2.5", 2.5, "USD"),
    ("$80 billion", 80e9, "USD"),
    ("$80bn", 80e9, "USD"),
    ("$80 bn", 80e9, "USD"),
    ("$80b", 80e9, "USD"),
    ("$80B", 80e9, "USD"),
    ("$80bln", 80e9, "USD"),
    ("$1.5 trillion", 1.5e12, "USD"),
    ("$1.5tn", 1.5e12, "USD"),
    ("$1.5trn", 1.5e12, "USD"),
    ("$1.5T", 1.5e12, "USD"),
    ("$250 million", 250e6, "USD"),
    ("$250m", 250e6, "USD"),
    ("$250mn", 250e6, "USD"),
    ("$250mln", 250e6, "USD"),
    ("$250M", 250e6, "USD"),
    ("$50k", 50e3, "USD"),
    ("$50K", 50e3, "USD"),
    ("$50 thousand", 50e3, "USD"),
    ("$3 Billion", 3e9, "USD"),
    ("$3 BILLION", 3e9, "USD"),
    ("US$100 billion", 100e9, "USD"),
    ("US$ 100 billion", 100e9, "USD"),
    ("US $100 billion", 100e9, "USD"),
    ("U.S.$7bn", 7e9, "USD"),
    ("USD 2.1 billion", 2.1e9, "USD"),
    ("USD2.1bn", 2.1e9, "USD"),
    ("2.1 billion USD", 2.1e9, "USD"),
    ("100 billion dollars", 100e9, "USD"),
    ("100 billion US dollars", 100e9, "USD"),
    ("1.2 million U.S. dollars", 1.2e6, "USD"),
    ("50 dollars", 50, "USD"),
    # other dollars
    ("C$7 billion", 7e9, "CAD"),
    ("CA$7bn", 7e9, "CAD"),
    ("CAD 7 billion", 7e9, "CAD"),
    ("7 billion Canadian dollars", 7e9, "CAD"),
    ("A$2bn", 2e9, "AUD"),
    ("AU$2bn", 2e9, "AUD"),
    ("AUD 2 billion", 2e9, "AUD"),
    ("2 billion Australian dollars", 2e9, "AUD"),
    ("HK$5bn", 5e9, "HKD"),
    ("S$1.1 billion", 1.1e9, "SGD"),
    ("NT$2.89 trillion", 2.89e12, "TWD"),
    ("NZ$300m", 300e6, "NZD"),
    ("R$10 billion", 10e9, "BRL"),
    # euro and pound
    ("€180bn", 180e9, "EUR"),
    ("€ 180 billion", 180e9, "EUR"),
    ("€1.8bn", 1.8e9, "EUR"),
    ("EUR 750 million", 750e6, "EUR"),
    ("EUR750m", 750e6, "EUR"),
    ("750 million EUR", 750e6, "EUR"),
    ("9 billion euros", 9e9, "EUR"),
    ("1.92 billion euros", 1.92e9, "EUR"),
    ("£1.25bn", 1.25e9, "GBP"),
    ("£200m", 200e6, "GBP"),
    ("£2.5 billion", 2.5e9, "GBP"),
    ("GBP 400 million", 400e6, "GBP"),
    ("400 million pounds", 400e6, "GBP"),
    ("400 million pounds sterling", 400e6, "GBP"),
    ("3 billion sterling", 3e9, "GBP"),
    # yen, yuan, won, others
    ("¥1 trillion", 1e12, "JPY"),
    ("¥1.5 trillion", 1.5e12, "JPY"),
    ("¥42.1 billion", 42.1e9, "JPY"),
    ("JPY 500 billion", 500e9, "JPY"),
    ("1.2 trillion yen", 1.2e12, "JPY"),
    ("300 yen", 300, "JPY"),
    ("500 billion yuan", 500e9, "CNY"),
    ("36.6 billion yuan", 36.6e9, "CNY"),
    ("RMB 380 billion", 380e9, "CNY"),
    ("Rmb380bn", 380e9, "CNY"),
    ("CNY 20 billion", 20e9, "CNY"),
    ("CN¥20bn", 20e9, "CNY"),
    ("20 billion renminbi", 20e9, "CNY"),
    ("7 trillion won", 7e12, "KRW"),
    ("53.1 trillion won", 53.1e12, "KRW"),
    ("KRW 300 trillion", 300e12, "KRW"),
    ("₩3tn", 3e12, "KRW"),
    ("CHF 300 million", 300e6, "CHF"),
    ("CHF 2.50", 2.5, "CHF"),
    ("CHF3.2bn", 3.2e9, "CHF"),
    ("300 million Swiss francs", 300e6, "CHF"),
    ("SFr 1.2bn", 1.2e9, "CHF"),
    ("5 billion Danish kroner", 5e9, "DKK"),
    ("SEK 12 billion", 12e9, "SEK"),
    ("NOK 12 billion", 12e9, "NOK"),
    ("₽100bn", 100e9, "RUB"),
    ("ZAR 4 billion", 4e9, "ZAR"),
    ("SAR 10 billion", 10e9, "SAR"),
    ("MXN 5bn", 5e9, "MXN"),
    ("BRL 3bn", 3e9, "BRL"),
    # rupees, crore and lakh
    ("Rs 75,000 crore", 75_000e7, "INR"),
    ("Rs 20,000 crore", 20_000e7, "INR"),
    ("Rs. 500 crore", 500e7, "INR"),
    ("Rs500cr", 500e7, "INR"),
    ("Rs 2 lakh crore", 2e12, "INR"),
    ("Rs 4.62 lakh crore", 4.62e12, "INR"),
    ("₹1.5 lakh crore", 1.5e12, "INR"),
    ("₹4,500 crore", 4_500e7, "INR"),
    ("₹50 lakh", 50e5, "INR"),
    ("INR 10,000 crore", 10_000e7, "INR"),
    ("INR 5 billion", 5e9, "INR"),
    ("4,500 crore rupees", 4_500e7, "INR"),
    ("20 lakh rupees", 20e5, "INR"),
    ("Rs 5 thousand crore", 5e10, "INR"),
    # hyphenated scale words (newspaper style)
    ("$1.5-billion", 1.5e9, "USD"),
    ("US$500-million", 500e6, "USD"),
    ("Rs. 3,500-crore", 3_500e7, "INR"),
    ("USD$5bn", 5e9, "USD"),
    # numbers in words
    ("two billion euros", 2e9, "EUR"),
    ("a billion dollars", 1e9, "USD"),
    ("Ten billion dollars", 10e9, "USD"),
    ("half a billion dollars", 0.5e9, "USD"),
    ("five trillion won", 5e12, "KRW"),
]

# (text, amount (lower bound), upper, currency)
RANGE_CASES: list[tuple[str, float, float, str]] = [
    ("$2.5-2.7 billion", 2.5e9, 2.7e9, "USD"),
    ("$115-135 billion", 115e9, 135e9, "USD"),
    ("$10–15bn", 10e9, 15e9, "USD"),
    ("$10bn-$15bn", 10e9, 15e9, "USD"),
    ("$10bn to $15bn", 10e9, 15e9, "USD"),
    ("$10 billion to $15 billion", 10e9, 15e9, "USD"),
    ("US$38 billion to US$42 billion", 38e9, 42e9, "USD"),
    ("£20bn-£25bn", 20e9, 25e9, "GBP"),
    ("between $10bn and $15bn", 10e9, 15e9, "USD"),
    ("between $38 billion and $40 billion", 38e9, 40e9, "USD"),
    ("Between $10 and $15 billion", 10e9, 15e9, "USD"),
    ("10 to 15 billion yuan", 10e9, 15e9, "CNY"),
    ("between 10 and 15 billion euros", 10e9, 15e9, "EUR"),
    ("€1-2bn", 1e9, 2e9, "EUR"),
    ("Rs 5,000-6,000 crore", 5_000e7, 6_000e7, "INR"),
]

# Texts that hold no money at all.
NO_MONEY = [
    "XYZ 5 million",
    "ABC 300",
    "QQQ 2bn",
    "the team won 3 games",
    "in 2023 won",
    "emissions rose 5%",
    "14.3 million tonnes",
    "5 billion people",
    "a billion tonnes of CO2",
    "200 million subscribers",
    "up 12 per cent",
    "Model 3",
]


@pytest.mark.parametrize(("text", "amount", "currency"), PARSE_CASES)
def test_parse_money(text: str, amount: float, currency: str) -> None:
    money = parse_money(text)
    assert money is not None, text
    assert money.amount == pytest.approx(amount, rel=1e-9)
    assert money.currency == currency
    assert money.currency in iso_currencies()


@pytest.mark.parametrize(("text", "amount", "upper", "currency"), RANGE_CASES)
def test_ranges_take_the_lower_bound(text: str, amount: float, upper: float, currency: str) -> None:
    money = parse_money(text)
    assert money is not None, text
    assert money.amount == pytest.approx(amount, rel=1e-9)
    assert money.upper == pytest.approx(upper, rel=1e-9)
    assert money.currency == currency


@pytest.mark.parametrize("text", NO_MONEY)
def test_no_money(text: str) -> None:
    assert find_money(text) == []
    assert parse_money(text) is None


# Two-currency forms keep the first amount: (text, [(amount, currency), ...]).
TWO_CURRENCY = [
    ("£3bn ($4.1bn)", [(3e9, "GBP")]),
    ("7 trillion won ($5 billion)", [(7e12, "KRW")]),
    ("¥1.5 trillion ($13.6 billion)", [(1.5e12, "JPY")]),
    ("Rs 2 lakh crore (about $25 billion)", [(2e12, "INR")]),
    ("RMB 380 billion ($53 billion)", [(380e9, "CNY")]),
    ("€5bn (roughly US$5.4bn)", [(5e9, "EUR")]),
    ("$5.7 billion (Rs 43,574 crore)", [(5.7e9, "USD")]),
    ("£3bn, or about $4.1bn,", [(3e9, "GBP")]),
    # same currency in brackets is not a restatement: both stay
    ("$3bn ($1bn of it this year)", [(3e9, "USD"), (1e9, "USD")]),
]


@pytest.mark.parametrize(("text", "expected"), TWO_CURRENCY)
def test_two_currency_forms_keep_the_first(text: str, expected: list[tuple[float, str]]) -> None:
    found = find_money(text)
    assert [(pytest.approx(m.amount, rel=1e-9), m.currency) for m in found] == expected


def test_offsets_point_at_the_surface() -> None:
    text = "Reliance will invest Rs 75,000 crore over three years and $2bn more."
    found = find_money(text)
    assert [m.surface for m in found] == ["Rs 75,000 crore", "$2bn"]
    for m in found:
        assert text[m.start:m.end] == m.surface


def test_from_to_is_two_amounts_not_a_range() -> None:
    found = find_money("Capex rose from $10bn to $15bn.")
    assert [(m.amount, m.upper) for m in found] == [(10e9, None), (15e9, None)]


def test_several_amounts_in_a_sentence() -> None:
    text = "It receives $8.5 billion in grants and as much as $11 billion in loans, and invests €2bn."
    assert [(m.amount, m.currency) for m in find_money(text)] == [(8.5e9, "USD"), (11e9, "USD"), (2e9, "EUR")]


def test_iso_list_is_the_standard() -> None:
    codes = iso_currencies()
    for code in ("USD", "EUR", "GBP", "JPY", "CNY", "INR", "CHF", "KRW", "CAD", "AUD", "BRL", "ZAR"):
        assert code in codes
    assert codes["JPY"]["minor_unit"] == 0
    assert codes["KWD"]["minor_unit"] == 3
    assert codes["USD"]["minor_unit"] == 2
    for not_a_code in ("ABC", "XYZ", "CEO", "GDP", "USA"):
        assert not_a_code not in codes


def test_parse_money_needs_the_whole_string() -> None:
    assert parse_money("about $5bn") is None
    assert parse_money("  $5bn  ") is not None
    assert parse_money("$5bn and $6bn") is None
