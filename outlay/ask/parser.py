"""The offline parser: a question in English to a `StructuredQuery`, deterministically, or `CannotAnswer`.

It works by recognisers that each claim the words they understand (unit economics and allocation first: "cost per
1,000 requests", "gross margin", "how does cost move with revenue", "under the allocation rules"; then dates,
comparisons, services, regions, accounts, tags, groupings, top-N, growth, "why did it spike"). Every word left
over must be one of the plain
words questions are made of ("what", "did", "we", "spend", ...): an unknown word means the question says
something the parser did not understand, and it answers "I can't answer that" rather than a number for a
different question. Values must be ones the tenant has (`Vocabulary`), so a filter never silently matches
nothing; a value that several dimensions hold is ambiguous and refused naming them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from outlay.ask.dates import NUMBER_WORDS, DateHit, Unit, find_dates, number, previous, year_before
from outlay.ask.model import (
    MAX_PER,
    UNIT_GROUPS,
    UNIT_KINDS,
    AskGrain,
    Filter,
    Intent,
    Metric,
    OrderBy,
    Period,
    QueryKind,
    StructuredQuery,
)
from outlay.ask.vocabulary import (
    ENV_VALUE_ALIASES,
    METRIC_WORDS,
    REGION_ALIASES,
    SERVICE_ALIASES,
    TAG_KEY_WORDS,
    Vocabulary,
)

DEFAULT_DAYS = 30  # a question without a period asks about the last 30 whole days
DEFAULT_SPIKE_DAYS = 7  # "why did costs spike?" without a period looks at the last 7 days
DEFAULT_TOP = 5
MAX_QUESTION = 500


@dataclass(frozen=True)
class CannotAnswer:
    """Why a question cannot be answered, and what was understood of it (shown to the person asking)."""

    reason: str
    understood: dict[str, Any] = field(default_factory=dict)


# Questions the query API cannot answer, with where the answer lives instead (checked on the words the unit-economics
# and allocation recognisers left: "forecast our gross margin" is still a forecast).
UNSUPPORTED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"\b(forecasts?|predict\w*|projected|projection|next (?:day|week|month|quarter|year)|tomorrow|"
         r"will (?:we|i|it|our|my) )",
         "that is a forecast: ask GET /v1/forecasts (or the dashboard's forecast) instead"),
        (r"\bbudgets?\b", "budgets are answered by GET /v1/budgets and /v1/budgets/{id}/status"),
        (r"\b(savings?|save|recommend\w*|rightsiz\w*|reserved instances?|savings plans?|optimi[sz]\w*)\b",
         "savings and recommendations are answered by GET /v1/recommendations and /v1/savings"),
        (r"\b(revenue|sales|profit\w*|unit economics|income|earn\w*)\b",
         "revenue on its own is not a cost question: ask for the gross margin, the cost per N of a business "
         "figure, or how cost moves with revenue"),
        (r"\b(untagged|shared costs?)\b",
         "ask 'what share of cost is unallocated' (under the allocation rules), or group the cost by a tag"),
    )
)  # fmt: skip

# Unit economics and allocation (see `_business`).
GROSS_MARGIN = re.compile(r"\b(?:gross )?(?:margins?|profit(?:s|ability)?|profitable)\b")
CORRELATION = re.compile(
    r"\b(?:elasticity|elastic|correlat\w*|"
    r"how (?:does|do|did) (?:our |the )?(?:aws )?(?:cost|costs|spend|spending|bill) "
    r"(?:move|scale|grow|change|vary|track|go)|"
    r"(?:cost|costs|spend) (?:moves?|scales?|grows?|tracks?|varies|vary) with|"
    r"(?:fixed|non-scaling|flat) (?:part|share|portion) of (?:our |the )?(?:aws )?(?:cost|costs|spend)|"
    r"(?:(?:what |which )?(?:part|share|portion) of (?:our |the )?(?:aws )?(?:cost|costs|spend) )?(?:that )?"
    r"(?:does not|doesn't|do not|don't) (?:scale|grow|move))\b"
)
_PER_NUMBER = (
    r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?k?|a thousand|one thousand|thousand|a million|one million|million|"
    r"a hundred|one hundred|hundred|a billion|one billion|billion"
)
_METRIC_PHRASES = sorted({*METRIC_WORDS, "customers", "customer", "features"}, key=len, reverse=True)
UNIT_PER = re.compile(
    rf"\bper (?:(?P<n>{_PER_NUMBER}) )?(?P<word>"
    + "|".join(re.escape(w) for w in _METRIC_PHRASES if " " in w)
    + r"|[a-z][\w.-]*)(?![\w-])"
)
UNIT_GROUP = re.compile(r"\bper (?:customer|feature)\b")  # "cost per customer": each customer's unit cost line
UNIT_WORDS = re.compile(r"\b(?:unit costs?|unit economics|cost per unit)\b")
SHARED = re.compile(
    r"\b(?:(?:including|include|with|incl|plus) (?:the )?shared (?:costs?|resources?)(?: split)?(?: by usage)?|"
    r"shared (?:costs? )?split by usage|split (?:shared (?:costs? )?)?by usage|usage[- ]weighted|by_usage)\b"
)
ALLOCATION = re.compile(
    r"\b(?:(?:under|with|using|by|from|per|according to|following) (?:the |our |my )?(?:cost )?(?:allocation )?"
    r"rules|(?:cost )?allocation(?: rules?)?|allocated|allocates?|allocating|"
    r"(?:(?:left|leave|leaves|remains?|remained|stays?|stayed) )?(?:unallocated|not allocated)|"
    r"unassigned)\b"
)
SHARE_WORDS = re.compile(r"\b(?:share|shares|proportion|percentage|percent|fraction|portion|part|owners?)\b")
_NAMED_NUMBERS = {"thousand": 1000, "hundred": 100, "million": 10**6, "billion": 10**9}

COMPARE = re.compile(
    r"\b(?:compared (?:with|to)|in comparison (?:with|to)|compare[sd]?|comparing|vs\.?|versus|against|"
    r"relative to|than)(?=\s|$)"
)
GROWTH = re.compile(
    r"\b(?:growth|grew|grow|grows|growing|grown|increases?|increased|increasing|rose|risen|rising|"
    r"went up|gone up|go up|goes up|climbed|jump|jumps|jumped|up the most|gained)\b"
)
DECLINE = re.compile(
    r"\b(?:decreases?|decreased|decreasing|declines?|declined|declining|dropped|drops?|fell|fallen|shrank|shrunk|"
    r"went down|gone down|go down|goes down|reduced|reduction)\b"
)
CHANGE = re.compile(r"\b(?:change[ds]?|changing|difference|differ|delta)\b")
# Spike words that ask for an explanation by themselves ("any anomalies", "spikes in S3"), and words that do only
# after "why" ("why was spend so high"; "was spend higher than ..." alone is a comparison).
SPIKE = re.compile(r"\b(?:spiked?|spikes|spiking|surge[ds]?|anomal(?:y|ies|ous)|unusual|unexpected)\b")
SPIKE_AFTER_WHY = re.compile(r"\b(?:jump|jumps|jumped|so high|so much|higher|high)\b")
WHY = re.compile(r"\b(?:why|what (?:caused|drove|happened)|who caused|explain|reason for|cause of)\b")
EFFECTIVE = re.compile(r"\b(?:amorti[sz]ed|effective|net)(?: (?:costs?|spend))?\b")
LIST_PRICE = re.compile(r"\b(?:list|on[- ]demand|public|undiscounted) (?:prices?|costs?|rates?)\b")
BILLED = re.compile(r"\b(?:billed|unblended|invoiced)\b")
DAILY = re.compile(r"\b(?:daily|per day|by day|each day|day by day|a day|every day|day-by-day)\b")
HOURLY = re.compile(r"\b(?:hourly|per hour|by hour|each hour|an hour|every hour|hour-by-hour)\b")
_NUM = r"(?:\d{1,3}|" + "|".join(NUMBER_WORDS) + r")"
TOP = re.compile(rf"\btop(?: (?P<n>{_NUM}))?\b")
SUPERLATIVE = re.compile(
    rf"\b(?:(?P<n>{_NUM}) )?(?P<word>biggest|largest|highest|most expensive|costliest|priciest|"
    rf"cheapest|smallest|lowest|least expensive)(?: (?P<n2>{_NUM}))?\b"
)
THE_MOST = re.compile(r"\b(?:the )?(?P<word>most|least)\b")
REGION_CODE = re.compile(r"\b(?:(?:the )?regions? )?(?P<code>[a-z]{2}(?:-gov)?-[a-z]+-\d)\b")
ACCOUNT = re.compile(r"\b(?:(?:aws |linked |member |payer |billing |usage )?accounts? (?:id )?#?)?(?P<id>\d{12})\b")
ACCOUNT_WORD = re.compile(r"\b(?:aws |linked |member |payer |billing |usage )?accounts? (?:id )?#?(?P<id>\d{3,12})\b")
KEY_VALUE = re.compile(r"\b(?:tag:?\s*)?(?P<key>[a-z][\w.-]*)\s*[=:]\s*(?P<value>[\w.@/-]+)")
TAG_GROUPS = (re.compile(r"\btag:(?P<key>[\w.-]+)"), re.compile(r"\b(?:the )?(?P<key>[\w.-]+) tag\b(?!:)"))

# Nouns that name a grouping (lower case) -> dimension; "account" is decided by what the tenant has.
GROUP_NOUNS: dict[str, str] = {
    "service": "service", "services": "service", "aws service": "service", "aws services": "service",
    "product": "service", "products": "service",
    "region": "region", "regions": "region",
    "account": "account", "accounts": "account", "aws account": "account", "aws accounts": "account",
    "linked account": "sub_account_id", "linked accounts": "sub_account_id",
    "member account": "sub_account_id", "member accounts": "sub_account_id",
    "sub-account": "sub_account_id", "sub-accounts": "sub_account_id",
    "usage account": "sub_account_id", "usage accounts": "sub_account_id",
    "payer account": "billing_account_id", "payer accounts": "billing_account_id",
    "billing account": "billing_account_id", "billing accounts": "billing_account_id",
    "payer": "billing_account_id", "payers": "billing_account_id",
    "resource": "resource_id", "resources": "resource_id",
    "currency": "currency", "currencies": "currency",
    "provider": "provider", "providers": "provider",
    "cost kind": "cost_kind", "kind of cost": "cost_kind",
}  # fmt: skip
SINGULAR = {"service", "aws service", "product", "region", "account", "aws account", "linked account",
            "member account", "sub-account", "usage account", "payer account", "billing account", "payer",
            "resource", "currency", "provider", "cost kind", "kind of cost", "team", "project", "env",
            "environment", "stage", "customer", "client", "feature", "owner", "application", "app", "cost center",
            "cost centre"}  # fmt: skip
GROUP_LEAD = re.compile(
    r"\b(?:by|per|for each|for every|each|every|across|broken down by|break(?:down)? by|split by|grouped by|"
    r"group(?:ed)? by|breakdown by|breakdown per|which|what|top(?: " + _NUM + r")?|"
    r"(?:" + _NUM + r" )?(?:biggest|largest|highest|most expensive|costliest|priciest|cheapest|smallest|lowest|"
    r"least expensive)(?: " + _NUM + r")?)\s+(?:of (?:our|my|the) )?(?:aws )?$"
)

# Words questions are made of: left over, they carry no meaning the query needs.
FILLER = frozenset(
    """
    a an the what whats what's how much many did do does done we our ours us i i'm my me you your it its it's
    is was were are be been being has have had show give tell list display get find report see let's lets
    spend spent spending spends cost costs costed costing pay paid paying charged charges charge bill bills
    billing total totals overall sum amount amounts in on for of to from at with by per and or over
    during within all each every across between about around please can could would you'd should
    money dollars usd eur euro euros $ £ € aws amazon cloud expense expenses expensive cheap cheaper
    this that these those there here which who whom whose where when why than then so as up down
    did we're we've broken breakdown break split grouped group versus vs compared compare comparison
    period periods time range how's much? exactly roughly approximately
    rank ranked ranking order ordered sorted sort by top most least biggest largest highest
    lowest smallest cheapest costliest priciest was were went gone go goes going
    number numbers figure figures value values level levels run running rate
    total? since until till through thru days day weeks week months month quarter quarters year years
    so far to-date date
    usage used use uses using consumption consume consumed
    account accounts service services region regions resource resources team teams project projects
    customer customers environment environments env feature features tag tags kind kinds
    just only also still even ever really actually currently current their any more less
    would will have had at instance instances servers machines higher lower bigger smaller
    """.split()
)


@dataclass
class _Text:
    """The normalised question and which characters recognisers have claimed."""

    text: str
    claimed: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.claimed = [False] * len(self.text)

    def free(self, start: int, end: int) -> bool:
        return not any(self.claimed[start:end])

    def claim(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.claimed[i] = True

    def find(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """Matches not overlapping anything claimed."""
        return [m for m in pattern.finditer(self.text) if self.free(m.start(), m.end())]

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = self.find(pattern)
        for m in found:
            self.claim(m.start(), m.end())
        return found

    def leftover(self) -> list[str]:
        words: list[str] = []
        for m in re.finditer(r"[^\s]+", self.text):
            part = "".join(c for c, used in zip(m.group(), self.claimed[m.start() : m.end()], strict=True) if not used)
            part = part.strip(".,:;'\"-")
            if part:
                words.append(part)
        return words


def normalise(question: str) -> str:
    text = question.strip().lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", " ")
    text = re.sub(r"(?<=\w)'s\b", "", text)  # possessives: "acme's" -> "acme"
    text = re.sub(r"\bper-(?=[a-z])", "per ", text)  # "per-customer cost" is "cost per customer"
    text = re.sub(r"[?!;()\"]", " ", text)
    text = re.sub(r",(?!\d{3})", " ", text)  # commas, but not inside 1,000
    text = re.sub(r"\.(?=\s|$)(?<!\bn\.)(?<!\bvs\.)", " ", text)  # full stops, but not "n. virginia" or "vs."
    return re.sub(r"\s+", " ", text).strip()


def today_of(now: datetime) -> date:
    return (now if now.tzinfo is None else now.astimezone(UTC)).date()


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Draft:
    """What has been understood so far (shown when the question cannot be answered)."""

    intent: Intent = Intent.COSTS
    metric: Metric = Metric.BILLED
    period: Period | None = None
    compare_to: Period | None = None
    grain: AskGrain = AskGrain.TOTAL
    group_by: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    order_by: OrderBy = OrderBy.COST
    descending: bool = True
    limit: int | None = None
    plural: bool = False  # "which services": a ranking; "which service": one
    notes: list[str] = field(default_factory=list)
    kind: QueryKind = QueryKind.COST
    business_metric: str | None = None
    per: int | None = None
    shared_by_usage: bool = False
    allocate_by: str | None = None
    per_group: bool = False  # unit_cost only because of "cost per customer": a grouping, should nothing else fit

    def add_filter(self, dimension: str, *values: str) -> None:
        bucket = self.filters.setdefault(dimension, [])
        bucket.extend(v for v in values if v not in bucket)

    def add_group(self, dimension: str) -> None:
        if dimension not in self.group_by:
            self.group_by.append(dimension)

    def understood(self) -> dict[str, Any]:
        out: dict[str, Any] = {"intent": self.intent.value, "metric": self.metric.value}
        if self.kind is not QueryKind.COST:
            out["kind"] = self.kind.value
        for name in ("business_metric", "per", "allocate_by"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.period is not None:
            out["period"] = self.period.model_dump(mode="json")
        if self.compare_to is not None:
            out["compare_to"] = self.compare_to.model_dump(mode="json")
        if self.group_by:
            out["group_by"] = list(self.group_by)
        if self.filters:
            out["filters"] = {k: list(v) for k, v in self.filters.items()}
        if self.limit is not None:
            out["limit"] = self.limit
        if self.order_by is OrderBy.CHANGE:
            out["order_by"] = "change"
        return out


def parse(question: str, now: datetime, vocabulary: Vocabulary) -> StructuredQuery | CannotAnswer:
    """The structured query `question` asks, relative to `now` (UTC), over the tenant's `vocabulary`."""
    return understand(question, now, vocabulary)[0]


def understand(
    question: str, now: datetime, vocabulary: Vocabulary
) -> tuple[StructuredQuery | CannotAnswer, list[str]]:
    """`parse`, with the defaults it chose (e.g. the period when none was named) for the explanation."""
    draft = _Draft()
    result = _understand(question, now, vocabulary, draft)
    return result, draft.notes


def _understand(question: str, now: datetime, vocabulary: Vocabulary, draft: _Draft) -> StructuredQuery | CannotAnswer:
    if len(question) > MAX_QUESTION:
        return CannotAnswer(f"the question is longer than {MAX_QUESTION} characters")
    text = _Text(normalise(question))
    if not text.text:
        return CannotAnswer("the question is empty")
    try:
        _business(text, vocabulary, draft)
        for pattern, reason in UNSUPPORTED:
            if text.find(pattern):
                raise _Refused(reason)
        _read(text, today_of(now), vocabulary, draft)
        unknown = [w for w in text.leftover() if w not in FILLER and not re.fullmatch(r"[\d.,$%]+", w)]
        if unknown:
            quoted = ", ".join(repr(w) for w in dict.fromkeys(unknown))
            raise _Refused(
                f"I don't know what {quoted} means here: it is not a service, region, account or tag value "
                "in your costs, nor a period I understand"
            )
        return _query(draft)
    except _Refused as refused:
        return CannotAnswer(refused.reason, draft.understood())
    except (ValueError, OverflowError):  # a period the model refuses, e.g. the one before 0001-01-01
        return CannotAnswer("the question's dates are out of the range I can answer about", draft.understood())


def _read(text: _Text, today: date, vocabulary: Vocabulary, draft: _Draft) -> None:
    """Run every recogniser in order (the order matters: each claims its words before the next looks)."""
    if draft.kind is QueryKind.ALLOCATION:
        # GET /v1/allocation takes a period, a cost metric and one dimension of the rules: nothing else is read, so
        # a service or a team named in the question is left over and refused rather than silently dropped.
        _metric(text, draft)
        _grain(text, draft)
        _periods(text, today, draft)
        _allocation_dimension(text, vocabulary, draft)
        _ranking(text, draft)
        return
    _intent(text, draft)
    _metric(text, draft)
    _grain(text, draft)
    _periods(text, today, draft)
    _key_values(text, vocabulary, draft)
    _tags(text, vocabulary, draft)
    _services(text, vocabulary, draft)
    _regions(text, vocabulary, draft)
    _accounts(text, vocabulary, draft)
    _groups(text, vocabulary, draft)
    _ranking(text, draft)
    _bare_values(text, vocabulary, draft)


def _intent(text: _Text, draft: _Draft) -> None:
    why = text.find(WHY)
    spike = text.find(SPIKE)
    because = [*text.find(SPIKE_AFTER_WHY), *text.find(GROWTH)] if why else []
    if spike or because:
        draft.intent = Intent.EXPLAIN_SPIKE
        for m in (*why, *spike, *because):
            text.claim(m.start(), m.end())


def _metric(text: _Text, draft: _Draft) -> None:
    if text.take(EFFECTIVE):
        draft.metric = Metric.EFFECTIVE
    elif text.take(LIST_PRICE):
        draft.metric = Metric.LIST
    text.take(BILLED)


def _grain(text: _Text, draft: _Draft) -> None:
    if text.take(HOURLY):
        draft.grain = AskGrain.HOUR
    elif text.take(DAILY):
        draft.grain = AskGrain.DAY


def _periods(text: _Text, today: date, draft: _Draft) -> None:
    hits = [h for h in find_dates(text.text, today) if text.free(h.start, h.end)]
    markers = text.take(COMPARE)
    for hit in hits:
        text.claim(hit.start, hit.end)
    marker_end = markers[0].end() if markers else None

    def marked(hit: DateHit) -> bool:
        # Right after "compared with" / "vs" (a few words between at most): the comparison period.
        return marker_end is not None and 0 <= hit.start - marker_end <= 12

    absolute = [
        h for h in hits if h.period is not None and not (h.calendar_or_relative and (marked(h) or h is not hits[0]))
    ]
    relative = [h for h in hits if h not in absolute]
    if len(absolute) > 2:
        raise _Refused("the question names more than two periods; ask about one, or one compared with another")
    main_hit = next((h for h in absolute if not marked(h)), absolute[0] if absolute else None)
    if main_hit is not None:
        draft.period = main_hit.period
    others = [h for h in absolute if h is not main_hit]
    if others:
        if not markers and not text.find(CHANGE) and not text.find(GROWTH) and not text.find(DECLINE):
            raise _Refused("the question names two periods; say which to compare with which ('October vs September')")
        draft.compare_to = others[0].period
    if relative:
        if draft.period is None:
            raise _Refused("the question compares with the period before, but names no period")
        hit = relative[0]
        unit = main_hit.unit if main_hit is not None else Unit.DAY
        draft.compare_to = (
            year_before(draft.period) if hit.year_ago else previous(draft.period, _unit_of(text, hit, unit))
        )
    if draft.period is None:
        if draft.intent is Intent.EXPLAIN_SPIKE:
            draft.period = Period(start=today - timedelta(days=DEFAULT_SPIKE_DAYS), end=today)
            draft.notes.append(f"no period given: the last {DEFAULT_SPIKE_DAYS} days")
        else:
            draft.period = Period(start=today - timedelta(days=DEFAULT_DAYS), end=today)
            draft.notes.append(f"no period given: the last {DEFAULT_DAYS} days")
        main_unit = Unit.DAY
    else:
        main_unit = main_hit.unit if main_hit is not None else Unit.DAY
    wants_change = bool(markers or text.find(GROWTH) or text.find(DECLINE) or text.find(CHANGE))
    if draft.compare_to is None and (wants_change or draft.intent is Intent.EXPLAIN_SPIKE):
        draft.compare_to = previous(draft.period, main_unit)
    if markers and draft.compare_to is None:
        raise _Refused("the question compares with something that is not a period I understand")
    text.take(CHANGE)


def _unit_of(text: _Text, hit: DateHit, main: Unit) -> Unit:
    # "the period before" follows the main period's unit; "the month before" is a month whatever the main one is.
    return main if "period" in text.text[hit.start : hit.end] else hit.unit


def _check_value(vocabulary: Vocabulary, dimension: str, raw: str, what: str) -> str:
    stored = vocabulary.stored(dimension, raw)
    if stored is None:
        known = ", ".join(vocabulary.values(dimension)[:10]) or "none"
        raise _Refused(f"{what} {raw!r} is not in your costs (known: {known})")
    return stored


def _key_values(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """team=checkout, tag:env=prod, region=us-east-1, service=AmazonEC2."""
    for m in text.find(KEY_VALUE):
        key, value = m["key"], m["value"]
        if key == "tag":  # "tag:project" names a grouping, not a value
            continue
        if key in ("service", "region", "sub_account_id", "billing_account_id", "currency", "provider", "cost_kind"):
            draft.add_filter(key, _check_value(vocabulary, key, value, key))
        else:
            tag_key = vocabulary.tag_key_for(key) or next((k for k in vocabulary.tags if k.lower() == key), None)
            if tag_key is None:
                raise _Refused(
                    f"{key!r} is not a tag key in your costs (known: {', '.join(vocabulary.tags) or 'none'})"
                )
            draft.add_filter(f"tag:{tag_key}", _check_value(vocabulary, f"tag:{tag_key}", value, tag_key))
        text.claim(m.start(), m.end())


_KEY_WORDS = sorted(TAG_KEY_WORDS, key=len, reverse=True)
_TAG_WORD = re.compile(r"\b(?P<word>" + "|".join(re.escape(w) for w in _KEY_WORDS) + r")\b")


def _tags(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """'team checkout', 'the checkout team', 'customer acme', 'project apollo', and 'in production'."""
    for m in text.find(_TAG_WORD):
        key = vocabulary.tag_key_for(m["word"])
        if key is None:
            continue
        after = re.match(r"\s+(?:(?:called|named|is) )?(?P<value>[\w.@/-]+)", text.text[m.end() :])
        before = re.search(r"(?P<value>[\w.@/-]+)\s+$", text.text[: m.start()])
        for found, span in (
            (after, (m.start(), m.end() + after.end()) if after else None),
            (before, (before.start(), m.end()) if before else None),
        ):
            if found is None or span is None or not text.free(*span):
                continue
            stored = vocabulary.stored(f"tag:{key}", found["value"])
            if stored is not None:
                draft.add_filter(f"tag:{key}", stored)
                text.claim(*span)
                break
        else:
            if after is not None and m["word"] in SINGULAR:
                word = after["value"]
                start = m.end() + after.start("value")
                if _looks_like_a_name(word) and text.free(start, start + len(word)) and not _grouping_word(text, m):
                    known = ", ".join(vocabulary.values(f"tag:{key}")[:10]) or "none"
                    raise _Refused(f"{m['word']} {word!r} is not in your costs (known {key} values: {known})")
    for word, values in ENV_VALUE_ALIASES.items():
        for m in text.find(re.compile(rf"\b(?:in |on |for )?{word}\b")):
            for key in ("env", "environment", "Environment", "stage"):
                matches = [s for s in (vocabulary.stored(f"tag:{key}", v) for v in values) if s is not None]
                if matches and key in vocabulary.tags:
                    draft.add_filter(f"tag:{key}", *matches)
                    text.claim(m.start(), m.end())
                    break


def _grouping_word(text: _Text, m: re.Match[str]) -> bool:
    """'by team', 'which team', 'per customer': the key word names a grouping, not a value."""
    return bool(GROUP_LEAD.search(text.text[: m.start()]))


# Words that follow a tag key word without being its value ("team spent", "customer with").
_NOT_NAMES = FILLER | {"most", "least", "more", "less", "costs", "name", "names", "tag", "tags"}


def _looks_like_a_name(word: str) -> bool:
    return word not in _NOT_NAMES and word not in NUMBER_WORDS and not word.isdigit()


def _services(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    # Stored names first (longest first: "Amazon Elastic Compute Cloud - Compute" before its prefix), then aliases.
    for stored in sorted(vocabulary.values("service"), key=len, reverse=True):
        for m in text.find(re.compile(rf"(?<![\w-]){re.escape(stored.lower())}(?![\w-])")):
            draft.add_filter("service", stored)
            text.claim(m.start(), m.end())
    for alias in sorted(SERVICE_ALIASES, key=len, reverse=True):
        for m in text.find(re.compile(rf"(?<![\w-]){re.escape(alias)}(?![\w-])")):
            if alias in AMBIGUOUS_ALIASES and not _near_cost_word(text, m):
                continue
            names = vocabulary.services_for(alias)
            if not names:
                raise _Refused(f"{alias!r} is not among your services (known: {_some(vocabulary.values('service'))})")
            draft.add_filter("service", *names)
            text.claim(m.start(), m.end())


# Aliases that are also plain words: services only next to "on", "for", "costs", ...
AMBIGUOUS_ALIASES = frozenset({"support", "monitoring", "dns", "queues", "instances", "bandwidth", "egress", "cdn"})


def _near_cost_word(text: _Text, m: re.Match[str]) -> bool:
    # Ambiguous aliases ("support") count as services only in "on support", "support costs", "for support".
    before = text.text[: m.start()].split()[-1:] or [""]
    after = text.text[m.end() :].split()[:1] or [""]
    return before[0] in ("on", "for", "of", "in") or after[0] in ("cost", "costs", "spend", "bill", "charges")


def _some(values: tuple[str, ...]) -> str:
    return ", ".join(values[:10]) + (", ..." if len(values) > 10 else "") if values else "none"


def _regions(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    for m in text.find(REGION_CODE):
        draft.add_filter("region", _check_value(vocabulary, "region", m["code"], "region"))
        text.claim(m.start(), m.end())
    for nickname in sorted(REGION_ALIASES, key=len, reverse=True):
        for m in text.find(re.compile(rf"\b{re.escape(nickname)}(?![\w-])")):
            code = REGION_ALIASES[nickname]
            draft.add_filter("region", _check_value(vocabulary, "region", code, f"region ({nickname})"))
            text.claim(m.start(), m.end())


def _accounts(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    for pattern in (ACCOUNT_WORD, ACCOUNT):
        for m in text.find(pattern):
            account = m["id"]
            holders = [d for d in ("sub_account_id", "billing_account_id") if vocabulary.knows(d, account)]
            if not holders:
                raise _Refused(f"account {account!r} is not in your costs")
            payer = "payer" in m.group() or "billing" in m.group()
            dimension = "billing_account_id" if payer and "billing_account_id" in holders else holders[0]
            draft.add_filter(dimension, account)
            text.claim(m.start(), m.end())


_GROUP_WORDS = sorted({*GROUP_NOUNS, *TAG_KEY_WORDS}, key=len, reverse=True)
_GROUP_WORD = re.compile(r"\b(?P<word>" + "|".join(re.escape(w) for w in _GROUP_WORDS) + r")\b")


def _groups(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """'by service', 'per team', 'which region', 'top 5 services', 'each customer', 'by tag:team'."""
    for m in [m for pattern in TAG_GROUPS for m in text.find(pattern)]:
        key = m["key"]
        if key and GROUP_LEAD.search(text.text[: m.start()]):
            stored = key if key in vocabulary.tags else vocabulary.tag_key_for(key)
            if stored is None:
                raise _Refused(
                    f"{key!r} is not a tag key in your costs (known: {', '.join(vocabulary.tags) or 'none'})"
                )
            draft.add_group(f"tag:{stored}")
            text.claim(m.start(), m.end())
    last_end = -1
    for m in text.find(_GROUP_WORD):
        # "by service and region": a group word right after another one joins the grouping
        joined = last_end >= 0 and re.fullmatch(r"\s*(?:,|and|&)\s*", text.text[last_end : m.start()]) is not None
        if not joined and not GROUP_LEAD.search(text.text[: m.start()]):
            continue
        last_end = m.end()
        word = m["word"]
        if word in GROUP_NOUNS:
            dimension = GROUP_NOUNS[word]
            if dimension == "account":
                dimension = "sub_account_id" if vocabulary.values("sub_account_id") else "billing_account_id"
        else:
            key = vocabulary.tag_key_for(word)
            if key is None:
                raise _Refused(
                    f"{word!r} is not a tag key in your costs (known: {', '.join(vocabulary.tags) or 'none'})"
                )
            dimension = f"tag:{key}"
        draft.add_group(dimension)
        draft.plural = draft.plural or word not in SINGULAR
        if word in SINGULAR and draft.limit is None and _asks_for_one(text, m):
            draft.limit = 1
        text.claim(m.start(), m.end())


def _asks_for_one(text: _Text, m: re.Match[str]) -> bool:
    """'which service cost the most', 'the most expensive team': one group, not a ranking."""
    rest = text.text[m.end() :]
    lead = text.text[: m.start()]
    superlative = re.search(
        r"\b(?:most|least|biggest|largest|highest|costliest|cheapest|smallest|lowest)\b", rest + lead
    )
    return bool(superlative) and not re.search(rf"\btop(?: {_NUM})?\s*$|\b{_NUM} \w+\s*$", lead)


def _ranking(text: _Text, draft: _Draft) -> None:
    growth, decline = text.take(GROWTH), text.take(DECLINE)
    if draft.compare_to is not None and (growth or decline) and draft.intent is Intent.COSTS:
        draft.order_by = OrderBy.CHANGE
        draft.descending = not (decline and not growth)
    for m in text.take(TOP):
        draft.limit = number(m["n"]) if m["n"] else (draft.limit or DEFAULT_TOP)
    for m in text.take(SUPERLATIVE):
        ascending = m["word"] in ("cheapest", "smallest", "lowest", "least expensive")
        if ascending and draft.order_by is OrderBy.COST:
            draft.descending = False
        if m["n"] or m["n2"]:
            draft.limit = number(m["n"] or m["n2"])
        elif draft.limit is None and (draft.group_by or draft.allocate_by):
            draft.limit = DEFAULT_TOP
    for m in text.take(THE_MOST):
        if m["word"] == "least" and draft.order_by is OrderBy.COST:
            draft.descending = False
        if draft.limit is None and (draft.group_by or draft.allocate_by):
            draft.limit = DEFAULT_TOP if draft.plural else 1
    if draft.limit is not None and draft.limit < 1:
        raise _Refused("a top-N needs N of at least 1")
    if draft.intent is Intent.EXPLAIN_SPIKE:
        draft.order_by, draft.descending = OrderBy.CHANGE, True
        if not draft.group_by:
            draft.group_by.append("service")
        draft.limit = draft.limit or DEFAULT_TOP


def _bare_values(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """Values named without their key ('for acme', 'on checkout'): used when exactly one dimension holds them."""
    for m in re.finditer(r"[\w.@/-]+", text.text):
        word = m.group().strip(".")
        if not word or not text.free(m.start(), m.end()) or word in FILLER:
            continue
        holders = vocabulary.where(word)
        if len(holders) > 1:
            raise _Refused(f"{word!r} is ambiguous: it is a value of {', '.join(holders)}; name one (e.g. team={word})")
        if len(holders) == 1:
            dimension = holders[0]
            stored = vocabulary.stored(dimension, word)
            if stored is not None:
                draft.add_filter(dimension, stored)
                text.claim(m.start(), m.end())


def _query(draft: _Draft) -> StructuredQuery | CannotAnswer:
    assert draft.period is not None  # _periods always sets one
    if draft.kind is QueryKind.UNIT_COST and draft.per_group and draft.business_metric is None:
        others = [d for d in [*draft.filters, *draft.group_by] if d not in UNIT_GROUPS]
        if others or draft.compare_to is not None or draft.intent is not Intent.COSTS:
            # "cost per customer for team checkout", "... compared with last month", a tenant whose tag is
            # `Customer`: GET /v1/unit-costs cannot filter, compare or read that tag; the cost grouped by the
            # customer tag answers it, as before unit costs existed.
            draft.kind = QueryKind.COST
    if draft.kind in UNIT_KINDS and not draft.group_by:
        # "what does acme cost per 1,000 requests": a customer named is that customer's line
        draft.group_by.extend(d for d in draft.filters if d in UNIT_GROUPS)
    if draft.kind is QueryKind.COST and draft.limit is not None and not draft.group_by:
        # "top 5" of nothing: the services are what people rank by default
        draft.group_by.append("service")
    try:
        return StructuredQuery(
            kind=draft.kind,
            business_metric=draft.business_metric,
            per=draft.per,
            shared_by_usage=draft.shared_by_usage,
            allocate_by=draft.allocate_by,
            intent=draft.intent,
            metric=draft.metric,
            period=draft.period,
            compare_to=draft.compare_to,
            grain=draft.grain,
            group_by=tuple(draft.group_by),
            filters=tuple(Filter(dimension=d, values=tuple(v)) for d, v in draft.filters.items()),
            order_by=draft.order_by,
            descending=draft.descending,
            limit=draft.limit,
        )
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return CannotAnswer(f"the question does not make a query I can run: {problems}", draft.understood())


def _per_number(text: str | None) -> int:
    """ "1,000" / "1000" / "1k" / "a thousand" / "million" -> the number (1 when none is given)."""
    if not text:
        return 1
    words = text.split()
    if words[-1] in _NAMED_NUMBERS:
        return _NAMED_NUMBERS[words[-1]]
    digits = text.replace(",", "")
    multiplier = 1000 if digits.endswith("k") else 1
    value = Decimal(digits.rstrip("k")) * multiplier  # exact: a float would round "per 10000000000000001"
    if value != value.to_integral_value() or not 1 <= value <= MAX_PER:
        raise _Refused(f"'per {text}' needs a whole number from 1 to {MAX_PER:,}")
    return int(value)


def _unknown_metric(word: str, vocabulary: Vocabulary) -> _Refused:
    known = ", ".join(sorted(vocabulary.metrics)) or "none yet"
    return _Refused(f"{word!r} is not a business metric you have posted (POST /v1/business-metrics; known: {known})")


def _business(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """Unit economics and allocation: which route answers, and the words only these questions have."""
    if text.take(ALLOCATION):
        draft.kind = QueryKind.ALLOCATION
        text.take(SHARE_WORDS)  # "what share of cost is unallocated": the answer gives the share
        return
    if text.take(CORRELATION):
        draft.kind = QueryKind.CORRELATION
        draft.business_metric = _driver(text, vocabulary)
        return
    if text.take(GROSS_MARGIN):
        draft.kind = QueryKind.GROSS_MARGIN
    for m in text.find(UNIT_PER):
        word, amount = m["word"], m["n"]
        if amount is None and word in ("customer", "feature"):
            continue  # "cost per customer": a grouping (below)
        name = vocabulary.metric_for(word)
        if name is None:
            if word in METRIC_WORDS or word in ("customers", "features") or amount is not None:
                raise _unknown_metric(word, vocabulary)
            continue  # "per day", "per team": not a business figure
        if draft.kind is QueryKind.GROSS_MARGIN:
            raise _Refused("a gross margin is revenue minus cost: it is not divided by another figure")
        if draft.business_metric not in (None, name):
            raise _Refused("the question names two business figures to divide by; ask about one")
        draft.kind, draft.business_metric, draft.per = QueryKind.UNIT_COST, name, _per_number(amount)
        text.claim(m.start(), m.end())
    unit_words = text.take(UNIT_WORDS)
    if draft.kind is QueryKind.COST and unit_words:
        draft.kind = QueryKind.UNIT_COST
    elif draft.kind is QueryKind.COST and text.find(UNIT_GROUP):
        draft.kind = QueryKind.UNIT_COST
        draft.per_group = True
    if draft.kind in UNIT_KINDS and text.take(SHARED):
        draft.shared_by_usage = True


def _driver(text: _Text, vocabulary: Vocabulary) -> str | None:
    """The business figure a correlation question names ("with revenue", "to orders"); None: revenue."""
    candidates = sorted({*METRIC_WORDS, *vocabulary.metrics}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(?P<word>" + "|".join(re.escape(w) for w in candidates) + r")(?![\w-])")
    found = text.find(pattern)
    if not found:
        return None
    m = found[0]
    name = vocabulary.metric_for(m["word"])
    if name is None:
        raise _unknown_metric(m["word"], vocabulary)
    text.claim(m.start(), m.end())
    # "against revenue", "vs orders": the connector goes with the driver, or it would read as a comparison.
    lead = re.search(r"\b(?:with|to|against|and|vs\.?|versus|on|by|of)\s+(?:(?:our|the|daily|total)\s+)?$",
                     text.text[: m.start()])  # fmt: skip
    if lead is not None and text.free(lead.start(), lead.end()):
        text.claim(lead.start(), lead.end())
    return name


def _allocation_dimension(text: _Text, vocabulary: Vocabulary, draft: _Draft) -> None:
    """The rules' dimension a question names ("by team", "to each product"), else team, else the rules' first."""
    if not vocabulary.allocation:
        raise _Refused("there are no allocation rules yet (PUT /v1/allocation/rules)")
    found: list[str] = []
    for m in re.finditer(r"[a-z][\w-]*", text.text):
        if not text.free(m.start(), m.end()):
            continue
        name = vocabulary.allocation_dimension_for(m.group())
        if name is not None:
            found.append(name)
            draft.plural = draft.plural or m.group() != name  # "which teams": a ranking; "which team": one
            text.claim(m.start(), m.end())
    for m in text.find(_GROUP_WORD):
        # "by service under the allocation rules": a grouping the rules do not define (plain words otherwise)
        if GROUP_LEAD.search(text.text[: m.start()]):
            known = ", ".join(vocabulary.allocation) or "none"
            raise _Refused(f"the allocation rules define no dimension {m['word']!r} (they define: {known})")
    names = list(dict.fromkeys(found))
    if len(names) > 1:
        raise _Refused(f"the question names two allocation dimensions ({', '.join(names)}); ask about one")
    if names:
        draft.allocate_by = names[0]
    else:
        # Team is what people mean by "who owns it" when they do not say; otherwise the rules' first dimension.
        draft.allocate_by = "team" if "team" in vocabulary.allocation else vocabulary.allocation[0]
        if len(vocabulary.allocation) > 1:
            draft.notes.append(
                f"no allocation dimension named: by {draft.allocate_by} (your rules define "
                f"{', '.join(vocabulary.allocation)})"
            )
