"""Dates in questions, against an injected `now` (UTC). Plain Python, no clock of its own.

Conventions (docs/ask.md lists them): days are UTC days; weeks start on Monday; "last week" / "last month" /
"last quarter" / "last year" are the whole previous calendar unit; "this week" / "this month" / ... run from the
unit's first day through today; "last N days" are the N whole days before today (today excluded), "last N
weeks" / "last N months" the N whole calendar units before the current one; "past week" is the last 7 days and
"past month" the last 30; a month or quarter named without a year ("in October", "Q3") is the latest one that
has begun; "since 1 March" runs through today; "from X to Y" includes Y.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from outlay.ask.model import Period

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUMBER = r"(?P<n>\d{1,3}|" + "|".join(NUMBER_WORDS) + r")"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"


class Unit(StrEnum):
    """What a period is made of: decides what "the period before" it is."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class DateHit:
    """A date expression found in the text: a period, or (relative) "the <unit> before" the main period."""

    start: int
    end: int
    period: Period | None
    unit: Unit
    relative: bool = False  # "the week before", "the previous month": relative to the main period
    year_ago: bool = False  # "the same period last year"
    calendar_or_relative: bool = False  # "the previous week": relative after "vs", calendar otherwise


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (the first of the month is all this module needs)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return Period(start=start, end=add_months(start, 1))


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def previous(period: Period, unit: Unit) -> Period:
    """The period just before: the previous calendar month/quarter/year for a whole one (or the same number of days
    from its start for one still running), otherwise the same length shifted back by whole units."""
    months = {Unit.MONTH: 1, Unit.QUARTER: 3, Unit.YEAR: 12}.get(unit)
    if months is not None and period.start.day == 1:
        start = add_months(period.start, -months * max(1, _whole_units(period, months)))
        if add_months(period.start, months * _whole_units(period, months)) == period.end:
            return Period(start=start, end=period.start)  # whole units: the same number of whole units before
        return Period(start=start, end=min(start + timedelta(days=period.days), period.start))
    step = 7 if unit is Unit.WEEK else 1
    shift = step * -(-period.days // step)  # whole units covering the period
    return Period(start=period.start - timedelta(days=shift), end=period.end - timedelta(days=shift))


def _whole_units(period: Period, months: int) -> int:
    count = 1
    while add_months(period.start, months * count) < period.end:
        count += 1
    return count


def year_before(period: Period) -> Period:
    return Period(start=_minus_year(period.start), end=_minus_year(period.end))


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def number(text: str) -> int:
    return NUMBER_WORDS[text] if text in NUMBER_WORDS else int(text)


def _latest_month(month: int, today: date) -> int:
    """The year of the latest `month` that has begun."""
    return today.year if month <= today.month else today.year - 1


def _day_of(match: re.Match[str], today: date) -> date | None:
    """A day named by `month`, `day` and perhaps `year` groups; without a year, the latest one not after today."""
    month = MONTHS[match["month"]]
    day = int(match["day"]) if match["day"] else 1
    try:
        if match["year"]:
            return date(int(match["year"]), month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate <= today else date(today.year - 1, month, day)
    except ValueError:  # 31 February
        return None


Builder = Callable[[re.Match[str], date], DateHit | None]
_RULES: list[tuple[re.Pattern[str], Builder]] = []


def _rule(pattern: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        _RULES.append((re.compile(pattern), builder))
        return builder

    return register


def _hit(m: re.Match[str], start: date, end: date, unit: Unit) -> DateHit:
    return DateHit(m.start(), m.end(), Period(start=start, end=end), unit)


@_rule(r"\b(?:the )?day before yesterday\b")
def _day_before_yesterday(m: re.Match[str], today: date) -> DateHit:
    return _hit(m, today - timedelta(days=2), today - timedelta(days=1), Unit.DAY)


@_rule(r"\byesterday\b")
def _yesterday(m: re.Match[str], today: date) -> DateHit:
    return _hit(m, today - timedelta(days=1), today, Unit.DAY)


@_rule(r"\btoday\b")
def _today(m: re.Match[str], today: date) -> DateHit:
    return _hit(m, today, today + timedelta(days=1), Unit.DAY)


@_rule(r"\b(?:the )?(?P<unit>week|month) before last\b")
def _before_last(m: re.Match[str], today: date) -> DateHit:
    if m["unit"] == "week":
        monday = monday_of(today)
        return _hit(m, monday - timedelta(days=14), monday - timedelta(days=7), Unit.WEEK)
    first = add_months(today, -2)
    return _hit(m, first, add_months(first, 1), Unit.MONTH)


@_rule(r"\b(?:this|the current|current) (?P<unit>week|month|quarter|year)\b|\b(?P<unit2>week|month|quarter|year)[ -]to[ -]date\b|\b(?P<abbr>wtd|mtd|qtd|ytd)\b|\bso far this (?P<unit3>week|month|quarter|year)\b")  # fmt: skip
def _this(m: re.Match[str], today: date) -> DateHit:
    abbr = {"wtd": "week", "mtd": "month", "qtd": "quarter", "ytd": "year"}.get(m["abbr"] or "")
    unit = Unit(m["unit"] or m["unit2"] or m["unit3"] or abbr or "month")
    starts = {
        Unit.WEEK: monday_of(today),
        Unit.MONTH: today.replace(day=1),
        Unit.QUARTER: quarter_start(today),
        Unit.YEAR: date(today.year, 1, 1),
    }
    return _hit(m, starts[unit], today + timedelta(days=1), unit)


@_rule(r"\b(?P<lead>last|previous|prior) (?P<unit>week|month|quarter|year)\b")
def _last(m: re.Match[str], today: date) -> DateHit:
    unit = Unit(m["unit"])
    if unit is Unit.WEEK:
        monday = monday_of(today)
        hit = _hit(m, monday - timedelta(days=7), monday, unit)
    elif unit is Unit.MONTH:
        first = today.replace(day=1)
        hit = _hit(m, add_months(first, -1), first, unit)
    elif unit is Unit.QUARTER:
        first = quarter_start(today)
        hit = _hit(m, add_months(first, -3), first, unit)
    else:
        hit = _hit(m, date(today.year - 1, 1, 1), date(today.year, 1, 1), unit)
    if m["lead"] != "last":  # "the previous month" after "vs" means the month before the one asked about
        return DateHit(hit.start, hit.end, hit.period, unit, calendar_or_relative=True)
    return hit


@_rule(rf"\b(?:in |over |for |during )?(?:the )?(?:last|past|previous|prior) {_NUMBER} (?P<unit>day|week|month)s?\b")
def _last_n(m: re.Match[str], today: date) -> DateHit | None:
    count = number(m["n"])
    if count < 1:
        return None
    if m["unit"] == "day":
        return _hit(m, today - timedelta(days=count), today, Unit.DAY)
    if m["unit"] == "week":
        monday = monday_of(today)
        return _hit(m, monday - timedelta(days=7 * count), monday, Unit.WEEK)
    first = today.replace(day=1)
    return _hit(m, add_months(first, -count), first, Unit.MONTH)


@_rule(r"\b(?:the )?past (?P<unit>week|month)\b")
def _past(m: re.Match[str], today: date) -> DateHit:
    days = 7 if m["unit"] == "week" else 30
    return _hit(m, today - timedelta(days=days), today, Unit.DAY)


@_rule(r"\b(?:the )?(?P<unit>day|week|month|quarter|year|period) before\b|\bthe (?:previous|prior|preceding) (?P<unit2>period)\b")  # fmt: skip
def _relative(m: re.Match[str], today: date) -> DateHit:
    word = m["unit"] or m["unit2"]
    unit = Unit.DAY if word == "period" else Unit(word)
    return DateHit(m.start(), m.end(), None, unit, relative=True)


@_rule(r"\b(?:the )?same (?:period|time|days?|week|month|quarter) (?:last|a|the previous) year\b|\ba year (?:ago|earlier|before)\b")  # fmt: skip
def _year_ago(m: re.Match[str], today: date) -> DateHit:
    return DateHit(m.start(), m.end(), None, Unit.YEAR, relative=True, year_ago=True)


@_rule(rf"\bq(?P<q>[1-4])(?:\s+{_YEAR})?\b")
def _quarter(m: re.Match[str], today: date) -> DateHit:
    first_month = 3 * (int(m["q"]) - 1) + 1
    year = int(m["year"]) if m["year"] else _latest_month(first_month, today)
    start = date(year, first_month, 1)
    return _hit(m, start, add_months(start, 3), Unit.QUARTER)


def _unnamed(pattern: str) -> str:
    """The pattern without group names, to use twice in one expression (the day parser names them again)."""
    return re.sub(r"\?P<\w+>", "?:", pattern)


_ISO = r"(?P<iso>\d{4}-\d{2}-\d{2})"
_DAY_MONTH = rf"{_DAY} (?:of )?{_MONTH}(?:,? {_YEAR})?"
_MONTH_DAY = rf"{_MONTH} {_DAY}(?:,? {_YEAR})?"
_NAMED_DAY = _unnamed(rf"(?:{_DAY_MONTH}|{_MONTH_DAY})")


def _named_day(text: str, today: date) -> date | None:
    if re.fullmatch(_ISO, text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    inner = re.fullmatch(_DAY_MONTH, text) or re.fullmatch(_MONTH_DAY, text)
    if inner is None:
        month_only = re.fullmatch(rf"{_MONTH}(?: {_YEAR})?", text)
        if month_only is None:
            return None
        month = MONTHS[month_only["month"]]
        year = int(month_only["year"]) if month_only["year"] else _latest_month(month, today)
        return date(year, month, 1)
    return _day_of(inner, today)


_ANY_DAY = _unnamed(rf"(?:{_ISO}|{_NAMED_DAY}|{_MONTH}(?: {_YEAR})?)")


@_rule(rf"\b(?:from|between) (?P<a>{_ANY_DAY}) (?:to|and|until|till|through|thru) (?P<b>{_ANY_DAY})\b")
def _between(m: re.Match[str], today: date) -> DateHit | None:
    first, last = _named_day(m["a"], today), _named_day(m["b"], today)
    if first is None or last is None or last < first:
        return None
    return _hit(m, first, last + timedelta(days=1), Unit.DAY)


@_rule(rf"\bsince (?:the )?(?P<a>{_ANY_DAY})\b")
def _since(m: re.Match[str], today: date) -> DateHit | None:
    first = _named_day(m["a"], today)
    if first is None or first > today:
        return None
    return _hit(m, first, today + timedelta(days=1), Unit.DAY)


@_rule(rf"\b(?:on )?(?:the )?(?P<a>{_unnamed(_ISO)}|{_NAMED_DAY})\b")
def _single_day(m: re.Match[str], today: date) -> DateHit | None:
    day = _named_day(m["a"], today)
    if day is None:
        return None
    return _hit(m, day, day + timedelta(days=1), Unit.DAY)


# "may" is also a verb: a bare month name counts only after a preposition or before a year.
_MONTH_NAMES = _unnamed(_MONTH)
_YEARS = _unnamed(_YEAR)


@_rule(rf"\b(?:(?:in|during|for|of|over) (?:the month of )?(?P<m1>{_MONTH_NAMES})(?: (?P<y1>{_YEARS}))?|(?P<m2>{_MONTH_NAMES}) (?P<y2>{_YEARS})|(?!may\b)(?P<m3>{_MONTH_NAMES})(?! \d))\b")  # fmt: skip
def _month(m: re.Match[str], today: date) -> DateHit:
    month = MONTHS[(m["m1"] or m["m2"] or m["m3"]).rstrip(".")]
    year_text = m["y1"] or m["y2"]
    year = int(year_text) if year_text else _latest_month(month, today)
    return DateHit(m.start(), m.end(), month_period(year, month), Unit.MONTH)


@_rule(rf"\b(?:in |during |for )?(?:the year )?{_YEAR}\b")
def _year(m: re.Match[str], today: date) -> DateHit:
    year = int(m["year"])
    return _hit(m, date(year, 1, 1), date(year + 1, 1, 1), Unit.YEAR)


@_rule(r"\b(?:on |last )?(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
def _weekday(m: re.Match[str], today: date) -> DateHit:
    back = (today.weekday() - WEEKDAYS.index(m["weekday"])) % 7 or 7  # the latest one before today
    day = today - timedelta(days=back)
    return _hit(m, day, day + timedelta(days=1), Unit.DAY)


def find_dates(text: str, today: date) -> list[DateHit]:
    """Every date expression in `text` (lower case), leftmost-longest first, none overlapping another."""
    found: list[DateHit] = []
    for pattern, builder in _RULES:
        for match in pattern.finditer(text):
            try:
                hit = builder(match, today)
            except (ValueError, OverflowError):  # a period the model refuses (too long, past 9999): not a date
                hit = None
            if hit is not None:
                found.append(hit)
    found.sort(key=lambda h: (h.start, -(h.end - h.start)))
    chosen: list[DateHit] = []
    for hit in found:
        if all(hit.start >= c.end or hit.end <= c.start for c in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
