"""Whole-article cases in the style of wire and trade-press copy (written for these tests): who a
pronoun is, initials of a company named earlier, years of plans vs pledges, money that belongs to
a country, a group or a person, participle and conditional clauses. Run through the real
Extractor with the real spaCy model."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor

PUB = date(2024, 8, 29)


@pytest.fixture(scope="module")
def ex() -> Extractor:
    return Extractor.load()


def facts(ex: Extractor, title: str | None, text: str) -> list[tuple]:
    out = []
    for f in ex.extract(text, title, PUB):
        if f.type == "emission_change":
            out.append(("E", f.company, f.direction, f.value, f.status, f.year))
        elif f.type == "investment":
            out.append(("I", f.company, f.amount, f.currency, f.by_year))
        else:
            out.append(("T", f.company, f.goal, f.year))
    return out


CASES = [
    # 'it' opening a sentence is the company that opened the one before, not the article's subject
    ("Heineken's brewery emissions fall",
     "Heineken said its brewery emissions fell 4% in 2023. Danish rival Carlsberg said on the same day that it "
     "had cut emissions at its breweries by 12% in 2023. It has pledged carbon-neutral breweries by 2030.",
     [("E", "Heineken", "decrease", 4.0, "reported", 2023), ("E", "Carlsberg", "decrease", 12.0, "reported", 2023),
      ("T", "Carlsberg", "carbon-neutral", 2030)]),
    # 'it' after an object of a preposition is still the acting company
    ("Cathay Pacific wins mail deal",
     "Cathay Pacific won a contract to fly mail for Hongkong Post, and said it remained committed to net-zero "
     "carbon emissions by 2050.",
     [("T", "Cathay Pacific", "net-zero carbon emissions", 2050)]),
    # initials of a company named in the title; the pledge's year is not the plan's horizon
    ("Mahindra & Mahindra plans EV push",
     "M&M, which aims to become carbon neutral by 2040, said it would invest Rs 12,000 crore in its electric "
     "vehicle subsidiary between FY25 and FY27.",
     [("I", "Mahindra & Mahindra", 120e9, "INR", 2027), ("T", "Mahindra & Mahindra", "carbon neutral", 2040)]),
    # a '-based' descriptor names a place, and the description refers to the subject
    ("Glencore results",
     "The Baar-based commodities trader aims to cut its total emissions by 50% by 2035 from 2019 levels.",
     [("E", "Glencore", "decrease", 50.0, "target", 2035)]),
    # a participle after 'showed'
    ("POSCO sustainability report",
     "The report showed POSCO's scope 2 emissions, from bought electricity, rising 4.1% in 2023.",
     [("E", "POSCO", "increase", 4.1, "reported", 2023)]),
    # a conditional main clause is no fact
    ("Singapore Airlines grounds jets",
     "If the grounding lasted a full year, an analyst estimated, the group's CO2 emissions would be about 60% "
     "lower than in a normal year.",
     []),
    # 'in 2050' after 'reaching'; a fiscal-year range ends in its second year
    ("POSCO targets",
     "POSCO aims to cut emissions 10% by 2030 from 2018 before reaching carbon neutrality in 2050.",
     [("E", "POSCO", "decrease", 10.0, "target", 2030), ("T", "POSCO", "carbon neutrality", 2050)]),
    ("HDFC Bank climate goal",
     "HDFC Bank said it would become carbon neutral by the financial year 2031-32.",
     [("T", "HDFC Bank", "carbon neutral", 2032)]),
    # money of a country, of a group of companies or of a person is no company's investment
    ("Airbus in India", "French foreign direct investment in India totals nearly $15 billion.",
     [("I", None, 15e9, "USD", None)]),
    ("OpenAI spends", "AI companies' infrastructure spending approached $1 trillion in 2024.",
     [("I", None, 1e12, "USD", 2024)]),
    ("Altman backs fusion", "He plowed a further $375 million into Helion, his largest personal bet.",
     [("I", None, 375e6, "USD", None)]),
    # an ordinary word that is also a brand is not a company without context
    ("The EU's Green Deal", "Indeed, global CO2 emissions fell by about 45% in 2023.",
     [("E", None, "decrease", 45.0, "reported", 2023)]),
    # a '<city>, <state>-based' descriptor is the article's company, for changes and pledges alike
    ("Duke Energy plans",
     "The Charlotte, North Carolina-based utility aims to cut those emissions by 50% by 2030 from the 2005 level "
     "and to reach net zero by 2050.",
     [("E", "Duke Energy", "decrease", 50.0, "target", 2030), ("T", "Duke Energy", "net zero", 2050)]),
    # a comparison with another company is not a change over time
    ("Vattenfall lignite",
     "Vattenfall's emissions were still about 60% higher than those of Nordic rival Fortum, an analyst said. "
     "Its emissions were 20% below the industry average in 2023.",
     []),
    # a title-case headline word is not a company when the body names the company
    ("Drugmaker pledges billions for vaccine plants",
     "Sanofi said its scope 1 and 2 emissions in 2023 were 39% lower than in 2019. The group also plans to spend "
     "EUR 400 million on a new insulin plant in Germany.",
     [("E", "Sanofi", "decrease", 39.0, "reported", 2023), ("I", "Sanofi", 400e6, "EUR", None)]),
    # a second scope of a pledge with its own year
    ("Ahold Delhaize",
     "The supermarket group aims to reach net-zero emissions across its own operations by 2040 and its whole "
     "value chain by 2050.",
     [("T", "Ahold Delhaize", "net-zero emissions across its own operations", 2040),
      ("T", "Ahold Delhaize", "net-zero emissions across its whole value chain", 2050)]),
    # 'below 2015 levels': the year after 'below' is a baseline, not an approximator ('below 20%')
    ("AT&T climate report",
     "AT&T said its scope 1 and 2 emissions in 2023 were 41% below 2015 levels, as it shut down its 3G network.",
     [("E", "AT&T", "decrease", 41.0, "reported", 2023)]),
    # an ambiguous name in the title ('Orange') is the company the body names
    ("Orange cuts CO2 emissions 8.6%", "Orange said its emissions fell 8.6% in 2023.",
     [("E", "Orange", "decrease", 8.6, "reported", 2023)]),
    # two changes joined in one clause
    ("Saint-Gobain results",
     "Saint-Gobain said its scope 1 and 2 emissions fell 11% in 2023 and were 29% below 2017 levels.",
     [("E", "Saint-Gobain", "decrease", 11.0, "reported", 2023),
      ("E", "Saint-Gobain", "decrease", 29.0, "reported", 2023)]),
    # a goal whose metric the previous sentence names
    ("Kroger cuts emissions",
     "Kroger said its emissions were 9.5% lower in 2023 than in 2018. It is targeting a 30% reduction by 2030.",
     [("E", "Kroger", "decrease", 9.5, "reported", 2023), ("E", "Kroger", "decrease", 30.0, "target", 2030)]),
    ("Nike results", "Nike's revenue rose 5% in 2023. The company aims for a 70% cut in costs by 2025.", []),
    # the cost of a restructuring is not an investment
    ("Takeda restructures",
     "The company announced a restructuring that will cost about ¥140 billion, including job cuts in Europe.", []),
    # a country's goal is no company's pledge; a pledge not made is none
    ("Emirates",
     "Emirates has not set a net-zero target with a specific date, although the United Arab Emirates has a "
     "national goal of net zero by 2050.",
     [("T", None, "net zero", 2050)]),
    # acquisitions are investments; buybacks and purchases of power or offsets are not
    ("ADNOC agrees Covestro takeover",
     "Abu Dhabi National Oil Co agreed on Tuesday to buy Covestro for about €14.7bn ($16.3bn) including debt.",
     [("I", "ADNOC", 14.7e9, "EUR", None)]),
    ("RWE results", "RWE will buy a US solar developer for $6.8 billion.", [("I", "RWE", 6.8e9, "USD", None)]),
    ("Amazon history", "Amazon bought Whole Foods in August 2017 for $13.7 billion, its largest acquisition.", []),
    ("Shell buyback", "Shell said it would buy back $3.5 billion of shares.", []),
    ("Microsoft power deal", "Microsoft agreed to buy power from the plant for $1.6 billion over 20 years.", []),
    # several companies' money together is no one company's investment
    ("Big Tech capex",
     "A note observed that the combined capital expenditures of Amazon, Google and Meta in 2026 will be more "
     "than $700 billion.",
     [("I", None, 700e9, "USD", 2026)]),
    # companies neither the gazetteer nor NER knows (invented names), recognised by form
    ("Valdorix's energy use tripled as plants expand",
     "Valdorix's energy consumption tripled between 2020 and 2023 as the biosimilar maker opened its third plant.",
     [("E", "Valdorix", "increase", 200.0, "reported", 2023)]),
    ("Coal miner results", "Kestrelmoor Coal said its scope 1 emissions rose 5% in the year to June 2023.",
     [("E", "Kestrelmoor Coal", "increase", 5.0, "reported", 2023)]),
    ("Homeware chain's emissions rise",
     "Tobari Kensho, the company behind the Fenn chain of homeware stores, said on Wednesday that its scope 1 and "
     "2 emissions rose 6% in the year to August 2023.",
     [("E", "Tobari Kensho", "increase", 6.0, "reported", 2023)]),
    ("Shell executive", "Jane Smith, the company's chief executive, said Shell's emissions rose 5% in 2023.",
     [("E", "Shell", "increase", 5.0, "reported", 2023)]),
    # what analysts project is a forecast even with 'will ... by'; 'a fifth lower'; a place's apposition
    ("Uniper outlook",
     "Analysts at a Frankfurt bank project that Uniper's carbon emissions will fall by about a third by 2026.",
     [("E", "Uniper", "decrease", 33.3333, "forecast", 2026)]),
    ("Finnair results", "Finnair said its carbon dioxide emissions in 2023 were nearly a fifth lower than in 2019.",
     [("E", "Finnair", "decrease", 20.0, "reported", 2023)]),
    # a sector's emissions named through a long phrase are no company's
    ("Airline emissions in Europe climb",
     "Carbon dioxide emissions from flights departing airports in the European Union rose 6% in 2023. Lufthansa "
     "carried 123 million passengers.",
     [("E", None, "increase", 6.0, "reported", 2023)]),
    # NER calls the company a place; an apposition describes the name before it; a pledge's year in a
    # relative clause is not the reported change's year
    ("Newmont results",
     "Newmont, the world's biggest gold miner, said its scope 1 and 2 emissions rose 6% in 2023 after it bought "
     "Australia's Newcrest Mining.",
     [("E", "Newmont", "increase", 6.0, "reported", 2023)]),
    ("IndiGo fuel use",
     "InterGlobe Aviation, which runs IndiGo, India's largest airline, said fuel consumption rose 20 per cent in "
     "the fiscal year to March 2024.",
     [("E", "IndiGo", "increase", 20.0, "reported", 2024)]),
    ("Lenovo results",
     "Lenovo, which aims for net-zero emissions by 2050, said its scope 3 emissions from products in use rose 3%.",
     [("E", "Lenovo", "increase", 3.0, "reported", 2023), ("T", "Lenovo", "net-zero emissions", 2050)]),
    # ringgit; assets a bank oversees and buyback programmes are not investments
    ("Malaysian utility lays out grid spending",
     "Tenaga Nasional Bhd said on Tuesday it would invest about RM43 billion in transmission and distribution "
     "upgrades between 2023 and 2025.",
     [("I", "Tenaga Nasional", 43e9, "MYR", 2025)]),
    ("Morgan Stanley results",
     "Morgan Stanley said it would keep buying back shares under its $10 billion programme. Its wealth management "
     "arm now oversees more than $70 billion in sustainable investment strategies.",
     []),
    # a company NER half-sees ('Bharat'); a fiscal year is no company; a headline's company NER calls a person
    ("Dalmia Bharat expands",
     "Dalmia Bharat will invest about Rs 9,000 crore to lift its cement capacity by FY27, the company said, adding "
     "that it remains committed to becoming carbon negative by 2040.",
     [("I", "Dalmia Bharat", 90e9, "INR", 2027), ("T", "Dalmia Bharat", "carbon negative", 2040)]),
    ("Harwell Mattock to invest £200m in hydrogen components",
     "Harwell Mattock will invest more than £200m over the next few years, the London-listed chemicals company said.",
     [("I", "Harwell Mattock", 200e6, "GBP", None)]),
    # a product naming the company described is not another company
    ("Hermes results",
     "The Birkin bag maker said its absolute scope 1 and 2 emissions were 35% lower in 2023 than in 2018.",
     [("E", "Hermes", "decrease", 35.0, "reported", 2023)]),
    # a forecast with a condition is still a forecast; 'by at least 50%' is a change, not a level
    ("Rio Tinto outlook",
     "An analyst at a London broker estimated Rio Tinto's emissions could fall a further 20% by 2027 if the "
     "Pilbara solar farms arrive on time.",
     [("E", "Rio Tinto", "decrease", 20.0, "forecast", 2027)]),
    ("Telstra goals",
     "Telstra aims to cut its absolute emissions by at least 50% by 2030 from its 2019 financial year.",
     [("E", "Telstra", "decrease", 50.0, "target", 2030)]),
    ("Rivian plant",
     "A researcher calculated that if the new plant drew all of its power from the state's grid, Rivian's "
     "operational emissions could double.",
     []),
    # the named one of two subjects; money set aside for a regulatory review is a provision
    ("Renault plans",
     "Renault said it would cut costs. Its alliance partner Nissan said on Tuesday it would invest ¥2 trillion "
     "over the next five years in electrified vehicles.",
     [("I", "Nissan", 2e12, "JPY", 2029)]),
    ("Lloyds provision",
     "Lloyds said it set aside £450 million for a possible review by the Financial Conduct Authority.", []),
    # 'the utility' is the subject only when the subject is a utility
    ("Meta data centre power",
     "Meta said its data centre electricity use rose 34% in 2024. The utility's plan to spend about $3.2 billion on "
     "three gas plants was approved by state regulators.",
     [("E", "Meta", "increase", 34.0, "reported", 2024), ("I", None, 3.2e9, "USD", None)]),
    ("Duke Energy goals",
     "Duke Energy said its emissions were 44% lower in 2023 than in 2005. The utility aims to reach net zero by 2050.",
     [("E", "Duke Energy", "decrease", 44.0, "reported", 2023), ("T", "Duke Energy", "net zero", 2050)]),
    # a lead's opening company is the subject even when another is named more often later
    ("Airline drops 2030 climate target",
     "Air New Zealand on Wednesday withdrew its 2030 climate goal. The carrier said that delays in Boeing and "
     "Airbus deliveries meant the target could not be met. It said it remained committed to reaching net-zero "
     "carbon emissions by 2050. Boeing has delayed deliveries of its 787; Boeing said the delays would end in 2026.",
     [("T", "Air New Zealand", "net-zero carbon emissions", 2050)]),
]


@pytest.mark.parametrize("title,text,expected", CASES, ids=[c[0] for c in CASES])
def test_article(ex: Extractor, title: str, text: str, expected: list[tuple]) -> None:
    assert facts(ex, title, text) == expected
