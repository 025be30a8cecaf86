"""Vietnamese timing phrases ("Thời gian thực hiện") → `Recurrence`.

Pure: no clock, no I/O. Matching is done on `normalise(phrase)`, so case, spacing, line
breaks (the seed's PDF text breaks phrases over lines), NFC/NFD and trailing punctuation
do not matter. Anything not understood raises `TimingError`, whose message quotes the phrase
and lists `understood_forms()`; nothing is guessed.

Forms understood (after normalising; "hằng" and "hàng" are both accepted):
- "hằng năm" → YEARLY; "hằng quý" → QUARTERLY; "hằng tháng" → MONTHLY;
- "N năm/lần", "N năm một lần", "N năm 01 lần" (N in digits or a word một … mười) → YEARLY
  every N years (no anchor year: config must supply one when N > 1);
- "N tháng/lần" (same spellings) and "hằng N tháng" for N = 1, 3, 6, 12 → MONTHLY,
  QUARTERLY, HALF_YEARLY, YEARLY;
- any of the above followed by ", (bắt đầu) từ năm YYYY" → start_year = YYYY;
- "trước ngày D/M hằng năm" or "trước ngày D tháng M hằng năm" → YEARLY, fixed_due (D, M);
  a day that never exists in that month (31/02, 31/04) is rejected, 29/02 is accepted;
- "năm YYYY" → ONCE "YYYY"; "quý I/YYYY" … "quý IV/YYYY" (or 1–4, or "quý I năm YYYY")
  → ONCE "YYYY-Qn"; "tháng M/YYYY" (or "tháng M năm YYYY") → ONCE "YYYY-MM";
- "sau khi có hướng dẫn của trung ương" (or "… của TW") → TRIGGERED;
- "theo nhiệm vụ được giao" → ASSIGNED.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import replace
from datetime import date

from reminder.model import DayOffRule, Frequency, Recurrence


class TimingError(ValueError):
    """A timing phrase (or a structured override) that cannot be read."""


_FORMS = (
    "Hằng năm",
    "Hàng năm",
    "Hằng năm, bắt đầu từ năm 2025",
    "02 năm/lần",
    "2 năm một lần",
    "hai năm một lần",
    "02 năm 01 lần",
    "Hằng quý",
    "Hằng tháng",
    "6 tháng/lần",
    "sáu tháng một lần",
    "Hằng 6 tháng",
    "Trước ngày 15/12 hằng năm",
    "Năm 2026",
    "Quý I/2026",
    "Tháng 6/2026",
    "Sau khi có hướng dẫn của Trung ương",
    "Theo nhiệm vụ được giao",
    "Thường xuyên",
    "Định kỳ 6 tháng",
    "Hằng năm (trước 31/12)",
    "Trước 15/12 hằng năm",
    "Định kỳ hằng năm",
    "Trước ngày 30/6/2027",
    "Trong năm 2027",
    "Giai đoạn 2026 - 2030",
    "Hằng quý (trước ngày 20 tháng cuối quý)",
    "Theo chỉ đạo của UBND tỉnh",
)

_NUMBER_WORDS = {
    "một": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
    "mười": 10,
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_MONTHS_TO_FREQUENCY = {
    1: Frequency.MONTHLY,
    3: Frequency.QUARTERLY,
    6: Frequency.HALF_YEARLY,
    12: Frequency.YEARLY,
}
_MONTH_EN = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_ROMAN_OUT = ("I", "II", "III", "IV")

_N = r"(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + ")"
_N2 = _N.replace("?P<n>", "?P<n2>")
_PER_TIME = r"(?:/(?:(?:một|0?1) )?| (?:một|0?1) )lần"  # "/lần", " một lần", " 01 lần", "/01 lần"
_HANG = r"h[àằ]ng"
_YEAR = r"(?P<y>\d{4})"
_START = r"(?:, ?| )(?:bắt đầu )?từ năm (?P<start>\d{4})"

_PERIODIC = (
    (re.compile(rf"{_HANG} năm"), Frequency.YEARLY),
    (re.compile(rf"{_HANG} quý"), Frequency.QUARTERLY),
    (re.compile(rf"{_HANG} tháng"), Frequency.MONTHLY),
)
_EVERY_N_YEARS = re.compile(rf"{_N} năm{_PER_TIME}")
_EVERY_N_MONTHS = re.compile(rf"(?:{_N} tháng{_PER_TIME}|{_HANG} {_N2} tháng)")
_DM = r"(?P<d>\d{1,2})(?:/| tháng )(?P<m>\d{1,2})"
_BEFORE_DAY = re.compile(rf"trước (?:ngày )?{_DM},? {_HANG} năm")
_DAY_MONTH = re.compile(rf"(?:ngày )?{_DM}")
_WITH_DUE = re.compile(r"(?P<body>.+?), (?:hoàn thành |báo cáo )?trước (?P<when>.+)")
_DAY_OF_LAST_MONTH = re.compile(
    r"(?:ngày )?(?P<d>\d{1,2}) (?:của )?tháng cuối (?:quý|kỳ|kì|mỗi quý|mỗi kỳ)"
)
_DAY_OF_NTH_MONTH = re.compile(
    rf"(?:ngày )?(?P<d>\d{{1,2}}) (?:của )?tháng (?:thứ )?(?P<k>đầu|\d|{'|'.join(_NUMBER_WORDS)})"
    r" (?:của )?(?:quý|kỳ|kì)"
)
_DAY_ONLY = re.compile(r"(?:ngày )?(?P<d>\d{1,2})(?: hằng tháng| hàng tháng)?")
_PERIOD_MONTHS = {Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.MONTHLY: 1}
_BY_DATE = re.compile(
    r"(?P<before>(?:hoàn thành )?(?:trước|chậm nhất|không quá) )?(?:ngày )?"
    r"(?P<d>\d{1,2})(?:/| tháng )(?P<m>\d{1,2})(?:/| năm )(?P<y>\d{4})"
)
_ONCE_HALF = re.compile(rf"6 tháng (?P<h>đầu|cuối) năm {_YEAR}")
_SPAN = re.compile(
    r"(?:(?:trong )?giai đoạn |từ năm |từ )?(?P<a>\d{4})(?:-| đến | đến năm )(?P<b>\d{4})"
)
_ONGOING = re.compile(
    r"(?:thực hiện )?(?:thường xuyên|liên tục, thường xuyên|thường xuyên, liên tục)"
    rf"(?:{_START})?"
)
_DIRECTED = re.compile(r"theo (?:sự )?(?:chỉ đạo|yêu cầu|chỉ đạo, yêu cầu)(?: của (?P<who>.+))?")
_ONCE_YEAR = re.compile(rf"năm {_YEAR}")
_ONCE_QUARTER = re.compile(rf"quý (?P<q>iv|iii|ii|i|\d)(?:/| năm ){_YEAR}")
_ONCE_MONTH = re.compile(rf"tháng (?P<m>\d{{1,2}})(?:/| năm ){_YEAR}")
_TRIGGERED = re.compile(r"sau khi có hướng dẫn của (?:trung ương|tw)")
_ASSIGNED = re.compile(r"theo nhiệm vụ được giao")


def understood_forms() -> tuple[str, ...]:
    """Canonical examples of the phrases `parse_phrase` understands."""
    return _FORMS


def normalise(text: str) -> str:
    """NFC, casefold, one space between words, no outer spaces or trailing punctuation.

    Also: "năm / lần" → "năm/lần", "15 / 12" → "15/12", " ," → ", ", and the old tone
    placement "qúy" → "quý". Both "hằng" and "hàng" are kept as written (patterns accept both).
    """
    s = unicodedata.normalize("NFC", text).casefold()
    s = " ".join(s.split())
    s = re.sub(r" ?/ ?", "/", s)
    s = re.sub(r"(?<=\d) ?[-–—‐] ?(?=\d)", "-", s)  # "2026 – 2030" → "2026-2030"
    s = re.sub(r" ?\((.*?)\)", r", \1", s)  # "Hằng năm (trước 31/12)" → "hằng năm, trước 31/12"
    s = re.sub(r" ?, ?", ", ", s)
    s = s.replace("qúy", "quý")
    return s.strip(" .;:,!-–—")


def _fail(phrase: str, why: str = "not understood") -> TimingError:
    forms = "; ".join(f'"{f}"' for f in _FORMS)
    shown = " ".join(phrase.split())
    return TimingError(f'timing phrase "{shown}": {why}. Understood forms: {forms}')


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def _periodic(s: str, phrase: str) -> Recurrence | None:
    """The recurring forms, with an optional ", bắt đầu từ năm YYYY" and an optional
    "định kỳ" in front ("Định kỳ hằng năm", "Định kỳ 6 tháng")."""
    m = re.fullmatch(rf"(?P<body>.+?)(?:{_START})?", s)
    if m is None:  # empty text
        return None
    body, start = m["body"], m["start"]
    if (k := re.fullmatch(r"định kỳ (?P<rest>.+)", body)) is not None:
        body = k["rest"]
        if (bare := re.fullmatch(rf"{_N} tháng", body)) is not None:
            body = f"{bare['n']} tháng/lần"
    rec: Recurrence | None = None
    for pattern, freq in _PERIODIC:
        if pattern.fullmatch(body):
            rec = Recurrence(freq)
    if (y := _EVERY_N_YEARS.fullmatch(body)) is not None:
        rec = Recurrence(Frequency.YEARLY, interval=_number(y["n"]))
    elif (mo := _EVERY_N_MONTHS.fullmatch(body)) is not None:
        months = _number(mo["n"] or mo["n2"])
        if months not in _MONTHS_TO_FREQUENCY:
            raise _fail(phrase, f"every {months} months is not a frequency we support")
        rec = Recurrence(_MONTHS_TO_FREQUENCY[months])
    if rec is None:
        return None
    if rec.interval < 1:
        raise _fail(phrase, "the interval must be at least 1")
    return replace(rec, start_year=int(start) if start else None)


def _day_of_year(day: int, month: int, phrase: str) -> tuple[int, int]:
    """(day, month) of any year (29/02 included); TimingError for 31/04, 15/13 …"""
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2024, month)[1]:
        raise _fail(phrase, f"{day:02d}/{month:02d} is not a day of the year")
    return day, month


def _before_day(s: str, phrase: str) -> Recurrence | None:
    m = _BEFORE_DAY.fullmatch(s)
    if m is None:
        return None
    due = _day_of_year(int(m["d"]), int(m["m"]), phrase)
    return Recurrence(Frequency.YEARLY, fixed_due=due, day_off_rule=DayOffRule.PREVIOUS)


def _with_due(s: str, phrase: str) -> Recurrence | None:
    """A recurring form followed by its own day: "Hằng năm (trước 31/12)", "Hằng quý
    (trước ngày 20 tháng cuối quý)", "Hằng tháng, trước ngày 25". "trước" is a "by" date."""
    m = _WITH_DUE.fullmatch(s)
    if m is None:
        return None
    rec = _periodic(m["body"], phrase)
    if rec is None:
        return None
    when = m["when"]
    months = _PERIOD_MONTHS.get(rec.frequency, 0)
    previous = DayOffRule.PREVIOUS
    if rec.frequency is Frequency.YEARLY and (d := _DAY_MONTH.fullmatch(when)) is not None:
        due = _day_of_year(int(d["d"]), int(d["m"]), phrase)
        return replace(rec, fixed_due=due, day_off_rule=previous)
    if months and (d := _DAY_OF_LAST_MONTH.fullmatch(when)) is not None:
        return replace(rec, period_due=(_day(d["d"], phrase), months), day_off_rule=previous)
    if months and (d := _DAY_OF_NTH_MONTH.fullmatch(when)) is not None:
        nth = _number(d["k"]) if d["k"] not in ("đầu",) else 1
        if not 1 <= nth <= months:
            raise _fail(phrase, f"a period of {months} months has no month {nth}")
        return replace(rec, period_due=(_day(d["d"], phrase), nth), day_off_rule=previous)
    if rec.frequency is Frequency.MONTHLY and (d := _DAY_ONLY.fullmatch(when)):
        return replace(rec, period_due=(_day(d["d"], phrase), 1), day_off_rule=previous)
    raise _fail(phrase, f'"trước {when}" is not a day this timing can have')


def _day(text: str, phrase: str) -> int:
    day = int(text)
    if not 1 <= day <= 31:
        raise _fail(phrase, f"there is no day {day} in a month")
    return day


def _by_date(s: str, phrase: str) -> Recurrence | None:
    """ "Trước ngày 30/6/2027": a one-off deadline by that date (a day off moves it back)."""
    m = _BY_DATE.fullmatch(s)
    if m is None:
        return None
    day, month, year = int(m["d"]), int(m["m"]), int(m["y"])
    try:
        date(year, month, day)
    except ValueError:
        raise _fail(phrase, f"{day:02d}/{month:02d}/{year} is not a date") from None
    return Recurrence(
        Frequency.ONCE,
        period=str(year),
        fixed_due=(day, month),
        day_off_rule=DayOffRule.PREVIOUS if m["before"] else None,
    )


def _once(s: str, phrase: str) -> Recurrence | None:
    s = re.sub(r"^(?:trong|hoàn thành trong) ", "", s)
    if (m := _ONCE_YEAR.fullmatch(s)) is not None:
        return Recurrence(Frequency.ONCE, period=m["y"])
    if (m := _ONCE_QUARTER.fullmatch(s)) is not None:
        q = _ROMAN.get(m["q"]) or int(m["q"])
        if not 1 <= q <= 4:
            raise _fail(phrase, f"there is no quarter {m['q'].upper()}")
        return Recurrence(Frequency.ONCE, period=f"{m['y']}-Q{q}")
    if (m := _ONCE_MONTH.fullmatch(s)) is not None:
        month = int(m["m"])
        if not 1 <= month <= 12:
            raise _fail(phrase, f"there is no month {month}")
        return Recurrence(Frequency.ONCE, period=f"{m['y']}-{month:02d}")
    if (m := _ONCE_HALF.fullmatch(s)) is not None:
        return Recurrence(Frequency.ONCE, period=f"{m['y']}-H{1 if m['h'] == 'đầu' else 2}")
    return None


def _span(s: str, phrase: str) -> Recurrence | None:
    """ "Giai đoạn 2026 - 2030", "2026 – 2030", "Từ năm 2026 đến năm 2030"."""
    m = _SPAN.fullmatch(s)
    if m is None:
        return None
    first, last = int(m["a"]), int(m["b"])
    if not first < last:
        raise _fail(phrase, f"the period {first}–{last} does not end after it starts")
    return Recurrence(Frequency.SPAN, start_year=first, end_year=last)


def _event(s: str) -> Recurrence | None:
    if _TRIGGERED.fullmatch(s):
        return Recurrence(Frequency.TRIGGERED)
    if _ASSIGNED.fullmatch(s) or _DIRECTED.fullmatch(s):
        return Recurrence(Frequency.ASSIGNED)
    if (m := _ONGOING.fullmatch(s)) is not None:
        return Recurrence(Frequency.ONGOING, start_year=int(m["start"]) if m["start"] else None)
    return None


def parse_phrase(phrase: str) -> Recurrence:
    """Read a timing phrase; `phrase` keeps the original text, `reading` says it in English.

    Raises TimingError (quoting the phrase and listing the understood forms) otherwise.
    """
    s = normalise(phrase)
    rec = (
        _periodic(s, phrase)
        or _before_day(s, phrase)
        or _with_due(s, phrase)
        or _by_date(s, phrase)
        or _once(s, phrase)
        or _span(s, phrase)
        or _event(s)
    )
    if rec is None:
        raise _fail(phrase)
    return replace(rec, phrase=phrase, reading=describe(rec))


def _period_words(period: str) -> str:
    if re.fullmatch(r"\d{4}", period):
        return f"year {period}"
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        return f"quarter {_ROMAN_OUT[int(m[2]) - 1]} of {m[1]}"
    if m := re.fullmatch(r"(\d{4})-H([12])", period):
        return f"half {m[2]} of {m[1]}"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        return f"{_MONTH_EN[int(m[2]) - 1]} {m[1]}"
    return period


def _every(rec: Recurrence) -> str:
    if rec.frequency is Frequency.YEARLY and rec.interval > 1:
        return f"every {rec.interval} years"
    return {
        Frequency.YEARLY: "yearly",
        Frequency.QUARTERLY: "quarterly",
        Frequency.MONTHLY: "monthly",
        Frequency.HALF_YEARLY: "half-yearly",
    }[rec.frequency]


def _which_years(rec: Recurrence) -> str:
    """ " (2026, 2028, …)": the first two years the anchor and start year allow."""
    anchor = rec.anchor_year if rec.anchor_year is not None else rec.start_year
    if anchor is None or rec.interval < 1:
        return " (anchor year not set)"
    first = anchor
    if rec.start_year is not None and rec.start_year > anchor:
        first = rec.start_year + (anchor - rec.start_year) % rec.interval
    return f" ({first}, {first + rec.interval}, …)"


def _by(rec: Recurrence) -> str:
    return " (a day off moves it to the working day before)" if rec.day_off_rule else ""


def describe(rec: Recurrence) -> str:
    """Plain English for a recurrence, e.g. "every 2 years (2025, 2027, …) from 2025"."""
    if rec.frequency is Frequency.ONCE:
        if rec.fixed_due is not None and rec.period and len(rec.period) == 4:
            d, m = rec.fixed_due
            return f"once, by {d:02d}/{m:02d}/{rec.period}{_by(rec)}"
        return f"once, {_period_words(rec.period or '?')}"
    if rec.frequency is Frequency.TRIGGERED:
        return "once, after central guidance arrives (date set by ops)"
    if rec.frequency is Frequency.ASSIGNED:
        return "as assigned or directed (explicit dates set by ops)"
    if rec.frequency is Frequency.ONGOING:
        words = "ongoing: no deadline, progress reports on the office's report dates"
        return words + (f" from {rec.start_year}" if rec.start_year is not None else "")
    if rec.frequency is Frequency.SPAN:
        return (
            f"period {rec.start_year}–{rec.end_year}: done by the end of {rec.end_year}, "
            "a progress report each year before"
        )
    words = _every(rec)
    if rec.interval > 1:
        words += _which_years(rec)
    if rec.fixed_due is not None:
        words += f", before {rec.fixed_due[0]:02d}/{rec.fixed_due[1]:02d}"
    if rec.period_due is not None:
        day, k = rec.period_due
        months = _PERIOD_MONTHS.get(rec.frequency, 1)
        which = "the period's last month" if k == months and months > 1 else f"month {k}"
        words += f", before day {day} of {which}" if months > 1 else f", before day {day}"
    words += _by(rec)
    if rec.start_year is not None:
        words += f" from {rec.start_year}"
    if rec.end_year is not None:
        words += f" until {rec.end_year}"
    return words


def recurrence_problems(rec: Recurrence) -> tuple[str, ...]:
    """What makes a recurrence unusable for `occurrences`, in words; () when it is fine.

    For config checks after `with_overrides`: an interval below 1, an interval on a
    non-yearly task, every n years with neither anchor nor start year, a one-off without a
    period, a start year after the end year.
    """
    found: list[str] = []
    if rec.interval < 1:
        found.append(f"interval must be at least 1, not {rec.interval}")
    if rec.interval > 1 and rec.frequency is not Frequency.YEARLY:
        found.append(f"an interval of {rec.interval} only makes sense for yearly tasks")
    elif rec.interval > 1 and rec.anchor_year is None and rec.start_year is None:
        found.append(f"every {rec.interval} years needs an anchor year saying which years")
    if rec.frequency is Frequency.ONCE and not rec.period:
        found.append("a one-off task needs a period such as 2026, 2026-Q1 or 2026-06")
    if rec.frequency is Frequency.SPAN and (rec.start_year is None or rec.end_year is None):
        found.append("a period (giai đoạn) needs its first and last years")
    if rec.start_year is not None and rec.end_year is not None and rec.start_year > rec.end_year:
        found.append(f"start year {rec.start_year} is after end year {rec.end_year}")
    return tuple(found)


def with_overrides(
    rec: Recurrence,
    *,
    frequency: Frequency | None = None,
    interval: int | None = None,
    anchor_year: int | None = None,
    start_year: int | None = None,
    end_year: int | None = None,
) -> Recurrence:
    """Structured config fields override or complete the phrase; `reading` is redone.

    None leaves a field as the phrase gave it. Nothing is validated here, so that a config
    check can report every problem at once: call `recurrence_problems` on the result.
    """
    out = replace(
        rec,
        frequency=rec.frequency if frequency is None else frequency,
        interval=rec.interval if interval is None else interval,
        anchor_year=rec.anchor_year if anchor_year is None else anchor_year,
        start_year=rec.start_year if start_year is None else start_year,
        end_year=rec.end_year if end_year is None else end_year,
    )
    return replace(out, reading=describe(out))
