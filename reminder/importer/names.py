"""Agency names: comparing them, knowing them, and splitting a "phối hợp" list into them.

Names are compared as word sequences after NFC, case-folding, the old/new tone placement
("Uỷ"/"Ủy", "hoà"/"hòa"), "UBND" → "Ủy ban nhân dân", without punctuation, without a
leading "các"/"những" and a trailing "tỉnh". So "Sở Lao động Thương binh và Xã hội" is
"Sở Lao động, Thương binh và Xã hội", and "Các cơ quan, đơn vị" is "các cơ quan, đơn vị".

`Directory` holds the known names (the config's agencies and groups, then the names this
import proposes); `split` cuts a list into names, known ones first (so a known name keeps
its commas and its "và"), unknown stretches by the head words that start an agency name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from reminder.importer.table import Note

# Old tone placement (on the first vowel of a final "oa", "oe", "uy") → the new one.
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_OLD_TONE = re.compile(rf"([oOuU])([{_TONES}])([aAeEyY])(?![^\W\d_])")
_PUNCT = re.compile(r"[,;:.()\[\]\"“”'‘’]")
_DROP_FIRST = {"các", "những", "mọi"}
_SEPARATORS = {",", ";"}
AND = "và"

# Words that start an agency's or a group's name: a list piece starting with one is a new
# name, one that does not continues the previous name ("Sở Lao động, Thương binh và Xã hội").
# The proper ones count only with a capital ("Ban Dân tộc", not "sở, ban, ngành").
HEADS = (
    "sở",
    "ủy ban",
    "ubnd",
    "trường",
    "liên hiệp",
    "liên đoàn",
    "hội",
    "ban",
    "văn phòng",
    "công an",
    "bộ chỉ huy",
    "đài",
    "báo",
    "cục",
    "chi cục",
    "kho bạc",
    "thanh tra",
    "trung tâm",
    "bệnh viện",
    "viện",
    "tỉnh đoàn",
    "đoàn",
    "mặt trận",
    "ngân hàng",
    "bảo hiểm",
    "hiệp hội",
)
GENERIC_HEADS = ("các", "những", "cơ sở", "cơ quan", "doanh nghiệp")


def _fold(text: str) -> str:
    """NFC, case-folded, one tone placement ("Ủy" and "Uỷ" are the same word)."""
    s = _OLD_TONE.sub(r"\1\3\2", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", s).casefold()


# Short forms offices write, and what they stand for ("Sở KH&CN", "VP UBND tỉnh").
_SHORT = {
    "ubnd": "ủy ban nhân dân",
    "hđnd": "hội đồng nhân dân",
    "vp": "văn phòng",
    "kh&cn": "khoa học và công nghệ",
    "khcn": "khoa học và công nghệ",
    "gd&đt": "giáo dục và đào tạo",
    "gdđt": "giáo dục và đào tạo",
    "tt&tt": "thông tin và truyền thông",
    "kh&đt": "kế hoạch và đầu tư",
    "khđt": "kế hoạch và đầu tư",
    "lđtb&xh": "lao động thương binh và xã hội",
    "lđ-tb&xh": "lao động thương binh và xã hội",
    "tn&mt": "tài nguyên và môi trường",
    "nn&ptnt": "nông nghiệp và phát triển nông thôn",
    "vhtt&dl": "văn hóa thể thao và du lịch",
    "gtvt": "giao thông vận tải",
    "mttq": "mặt trận tổ quốc",
    "khkt": "khoa học và kỹ thuật",
    "tw": "trung ương",
}
_EXPANDED = {_fold(k): _fold(v).split() for k, v in _SHORT.items()}


def words(text: str) -> list[str]:
    """The comparable words of a name (see the module docstring); short forms written out."""
    expanded: list[str] = []
    for w in _PUNCT.sub(" ", _fold(text)).split():
        expanded.extend(_EXPANDED.get(w, [w]))
    return expanded


_HEADS = tuple(tuple(words(h)) for h in HEADS)
_GENERIC_HEADS = tuple(tuple(words(h)) for h in GENERIC_HEADS)


def core(ws: list[str]) -> tuple[str, ...]:
    """Words without a leading "các"/"những" and a trailing "tỉnh": the matching key."""
    start = 1 if ws and ws[0] in _DROP_FIRST else 0
    end = len(ws) - 1 if len(ws) > start + 1 and ws[-1] == "tỉnh" else len(ws)
    return tuple(ws[start:end])


def key(name: str) -> tuple[str, ...]:
    """The key two names are compared by."""
    return core(words(name))


def tidy(text: str) -> str:
    """Display form of a name taken from the appendix: NFC, one space, no outer punctuation."""
    s = " ".join(unicodedata.normalize("NFC", text).split())
    s = re.sub(r"\s+([,;])", r"\1", s)
    return s.strip(" ,;.:-–")


def is_group_name(name: str) -> bool:
    """A plural or generic name stands for a group: "các …", "cơ sở đào tạo, bồi dưỡng",
    "Ủy ban nhân dân các huyện, thành phố" (but not "Liên hiệp các Hội …": a proper name)."""
    s = tidy(name)
    if not s:
        return False
    first = s.split()[0].casefold()
    if first in _DROP_FIRST or s[0].islower():
        return True
    return any(m.group(1).islower() for m in re.finditer(r"(?<!\w)(?:các|những) (\w)", s))


@dataclass(frozen=True)
class Entry:
    """A known agency or group."""

    id: str
    name: str
    is_group: bool
    proposed: bool = False  # not in the config: this import proposes it
    succeeded_by: str | None = None


@dataclass
class Directory:
    """The names an import can match, longest first within each first word."""

    entries: dict[str, Entry] = field(default_factory=dict)
    _by_key: dict[tuple[str, ...], Entry] = field(default_factory=dict)
    _by_first: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def add(self, entry: Entry, *names: str) -> None:
        """Know `entry` by its name and any other `names` (short names)."""
        self.entries[entry.id] = entry
        for name in (entry.name, *names):
            k = key(name)
            if not k or k in self._by_key:
                continue
            self._by_key[k] = entry
            keys = self._by_first.setdefault(k[0], [])
            keys.append(k)
            keys.sort(key=len, reverse=True)

    def find(self, name: str) -> Entry | None:
        """The entry named exactly `name` (after normalisation), if any."""
        return self._by_key.get(key(name))

    def candidates(self, first: str) -> list[tuple[tuple[str, ...], Entry]]:
        """Known keys starting with the word `first`, longest first."""
        return [(k, self._by_key[k]) for k in self._by_first.get(first, [])]

    def all_keys(self) -> list[tuple[tuple[str, ...], Entry]]:
        """Every known key."""
        return list(self._by_key.items())

    def closest(self, name: str, n: int = 2) -> list[Entry]:
        """The known (not proposed) entries whose names are nearest to `name`, for review."""
        import difflib

        known = {" ".join(k): e for k, e in self._by_key.items() if not e.proposed}
        wanted = " ".join(key(name))
        found = difflib.get_close_matches(wanted, list(known), n=n * 2, cutoff=0.5)
        out: list[Entry] = []
        for k in found:
            if known[k] not in out:
                out.append(known[k])
        return out[:n]

    def new_id(self, name: str) -> str:
        """A config id for a proposed name, unique in this directory ("so-van-hoa-the-thao")."""
        base = slug(name)
        candidate, n = base, 2
        while candidate in self.entries:
            candidate, n = f"{base}-{n}", n + 1
        return candidate


def slug(name: str, limit: int = 40) -> str:
    """ASCII id from a Vietnamese name: "Sở Văn hóa, Thể thao" → "so-van-hoa-the-thao"."""
    s = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    parts = [p for p in re.split(r"[^a-z0-9]+", s) if p and p not in {"cac", "nhung"}]
    out = ""
    for p in parts:
        if len(out) + len(p) + 1 > limit:
            break
        out = f"{out}-{p}" if out else p
    return out or "co-quan"


# --- splitting a list of names ------------------------------------------------------


@dataclass(frozen=True)
class Tok:
    """A word or a separator ("," ";") of a list, with its comparable form."""

    raw: str
    word: str  # folded word, "" for a separator

    @property
    def is_sep(self) -> bool:
        return self.word == ""


def tokens(text: str) -> list[Tok]:
    """Words and separators of a list of names."""
    out: list[Tok] = []
    for raw in re.findall(r"[,;]|[^\s,;]+", unicodedata.normalize("NFC", text)):
        if raw in _SEPARATORS:
            out.append(Tok(raw, ""))
        else:
            # the first word carries the text as written; "UBND" gives four words
            out.extend(Tok(raw if i == 0 else "", w) for i, w in enumerate(words(raw)))
    return out


@dataclass(frozen=True)
class Piece:
    """One name cut from a list: its text, the entry it matched (None = unknown), a doubt."""

    text: str
    entry: Entry | None
    doubt: str = ""


def _boundary(toks: Sequence[Tok], j: int) -> bool:
    return j >= len(toks) or toks[j].is_sep or toks[j].word == AND


def match_at(
    d: Directory, toks: Sequence[Tok], i: int, *, loose: bool = False
) -> tuple[int, Entry] | None:
    """The longest known name starting at token i and ending at a boundary (a separator,
    "và", the end; with `loose`, anywhere: text whose columns ran together): (end, entry)."""
    plural = i < len(toks) and toks[i].word in _DROP_FIRST
    start = i + 1 if plural else i
    best: tuple[int, Entry] | None = None
    for s in {i, start}:
        if s >= len(toks) or toks[s].is_sep:
            continue
        for k, entry in d.candidates(toks[s].word):
            if plural and entry.proposed and not entry.is_group:
                continue  # "các Trường Đại học" is not the "Trường Đại học" proposed earlier
            end = _match_words(toks, s, k)
            if end is None:
                continue
            if end < len(toks) and toks[end].word == "tỉnh":
                end += 1
            if (loose or _boundary(toks, end)) and (best is None or end > best[0]):
                best = (end, entry)
    return best


def _match_words(toks: Sequence[Tok], i: int, k: tuple[str, ...]) -> int | None:
    """End index if the words of `k` follow from i (skipping separators between them)."""
    j = i
    for w in k:
        while j < len(toks) and toks[j].is_sep:
            j += 1
        if j >= len(toks) or toks[j].word != w:
            return None
        j += 1
    return j


def _elliptic_at(d: Directory, toks: list[Tok], i: int) -> tuple[int, Entry] | None:
    """A known name written with its qualifier shared by the next names: "cơ quan, đơn vị,
    địa phương, doanh nghiệp trên địa bàn tỉnh" holds "cơ quan, đơn vị, địa phương trên địa
    bàn tỉnh". (end of the written part, entry)."""
    start = i + 1 if i < len(toks) and toks[i].word in _DROP_FIRST else i
    for k, entry in d.all_keys():
        for cut in range(1, len(k) - 1):
            head, tail = k[:cut], k[cut:]
            end = _match_words(toks, start, head)
            if end is None or end >= len(toks) or toks[end].word != "" or toks[end].raw != ",":
                continue
            if _shared_tail_follows(toks, end, tail):
                return end, entry
    return None


def _shared_tail_follows(toks: list[Tok], j: int, tail: tuple[str, ...]) -> bool:
    stop = next((n for n in range(j, len(toks)) if toks[n].raw == ";"), len(toks))
    for n in range(j + 2, stop - len(tail) + 1):
        end = _match_words(toks, n, tail)
        if end is not None and end < len(toks) and toks[end].word == "tỉnh":
            end += 1
        if end is not None and _boundary(toks, end):
            return True
    return False


def starts_head(toks: Sequence[Tok], i: int) -> bool:
    ws = tuple(t.word for t in toks[i : i + 3] if not t.is_sep)
    if any(ws[: len(h)] == h for h in _GENERIC_HEADS):
        return True
    capital = i < len(toks) and toks[i].raw[:1].isupper()
    return capital and any(ws[: len(h)] == h for h in _HEADS)


def split(d: Directory, text: str) -> list[Piece]:
    """Cut a list of agencies into names: known names (longest first), then unknown
    stretches cut where a piece starts with a head word ("Sở", "các", "Trường", …)."""
    toks = tokens(text)
    pieces: list[Piece] = []
    unknown: list[Tok] = []
    i, at_start = 0, True
    while i < len(toks):
        tok = toks[i]
        if tok.is_sep or (tok.word == AND and at_start is False and not unknown):
            i, at_start = i + 1, True
            if unknown:
                unknown.append(tok)
            continue
        hit = match_at(d, toks, i) if at_start else None
        doubt = ""
        if hit is None and at_start:
            hit = _elliptic_at(d, toks, i)
            doubt = (
                Note("split_shared", "its qualifier is shared with the next name(s) in the list")
                if hit
                else ""
            )
        if hit is not None:
            pieces.extend(_cut_unknown(unknown))
            unknown = []
            end, entry = hit
            pieces.append(Piece(_raw(toks[i:end]), entry, doubt))
            i, at_start = end, False
            continue
        unknown.append(tok)
        at_start = tok.word == AND
        i += 1
    pieces.extend(_cut_unknown(unknown))
    return [p for p in pieces if p.text]


def _raw(toks: list[Tok]) -> str:
    text = ""
    for t in toks:
        if not t.raw:
            continue
        text += t.raw if t.is_sep or not text else f" {t.raw}"
    return tidy(text)


def _cut_unknown(toks: list[Tok]) -> list[Piece]:
    """Cut an unknown stretch at separators (and "và") followed by a head word."""
    while toks and (toks[-1].is_sep or toks[-1].word == AND):
        toks = toks[:-1]
    while toks and (toks[0].is_sep or toks[0].word == AND):
        toks = toks[1:]
    if not toks:
        return []
    cuts = [0]
    for n in range(1, len(toks)):
        prev = toks[n - 1]
        if (prev.is_sep or prev.word == AND) and not toks[n].is_sep and starts_head(toks, n):
            cuts.append(n)
    cuts.append(len(toks))
    out = []
    for a, b in pairwise(cuts):
        part = toks[a:b]
        while part and (part[-1].is_sep or part[-1].word == AND):
            part = part[:-1]
        joined = any(t.is_sep for t in part)
        doubt = (
            Note("split_comma", "a name with a comma inside: check it is one name, not several")
            if joined
            else ""
        )
        out.append(Piece(_raw(part), None, doubt))
    return out
