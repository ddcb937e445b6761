"""What changed between two versions of an article, field by field: pure code, no SQL, no Scrapy.

:func:`diff_versions` compares two :class:`VersionText` values and returns a :class:`VersionDiff`:
one :class:`DiffRow` per compared item, in reading order (the header fields, then the body
paragraphs aligned, then captions, related links, tags and the claimed dates), and a summary.

Lists are aligned with :class:`difflib.SequenceMatcher` over their items (paragraphs as stored:
the parser already normalized their whitespace with ``domain.text.normalize_text``). An item
present on both sides is ``unchanged``; inside a replaced stretch each old item is paired, in
order, with the most similar new one when their word similarity reaches
:data:`REWRITE_THRESHOLD` (``rewritten``, with the ratio), and the rest are ``removed`` or
``added``; an old item is compared with the :data:`LOOKAHEAD` new items after the last one
paired. The work is bounded (:class:`AlignBudget`): a list that would take longer to align is
one ``too_large`` row and counts of None, reported as too large to align, so a save never holds
the store's write lock for long. A single field that differs is ``changed``
(``added``/``removed`` when one side is empty).

Two flags answer what researchers ask first: ``silent_edit`` (the text changed, the page's
claimed modification time did not) and ``modified_only`` (the claimed modification time changed,
the text did not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

Op = Literal["unchanged", "added", "removed", "rewritten", "changed", "too_large"]

# Below this word similarity, an old paragraph and a new one are a removal and an addition.
REWRITE_THRESHOLD = 0.5
# How many new items of a replaced stretch an old one is compared with: pairing is linear.
LOOKAHEAD = 10

# The parts of a version, in the order rows are reported; the first seven are its text.
TEXT_FIELDS: tuple[str, ...] = ("title", "lead", "dateline")
LIST_PARTS: dict[str, str] = {  # list field -> the name of one of its rows' part
    "body": "paragraph",
    "captions": "caption",
    "related_links": "related_link",
    "tags": "tag",
}
DATE_FIELDS: tuple[str, ...] = ("published_at", "modified_at")
TEXT_PARTS: frozenset[str] = frozenset({*TEXT_FIELDS, *LIST_PARTS.values()})


@dataclass(frozen=True)
class VersionText:
    """The comparable content of one version; captions and links as one string per item."""

    title: str | None = None
    lead: str | None = None
    dateline: str | None = None
    body: Sequence[str] = ()
    captions: Sequence[str] = ()  # "caption | credit", as the text hash counts them
    related_links: Sequence[str] = ()  # "title | url"
    tags: Sequence[str] = ()
    published_at: str | None = None
    modified_at: str | None = None


@dataclass(frozen=True)
class DiffRow:
    """One compared item: its part, what happened to it, and the old and new sides."""

    part: str  # title, lead, dateline, paragraph, caption, related_link, tag, published_at, ...
    op: Op
    similarity: float | None  # word similarity 0..1 for rewritten and changed text
    left_position: int | None  # the item's index in the older version's list (0 for a field)
    left_text: str | None
    right_position: int | None
    right_text: str | None


@dataclass(frozen=True)
class VersionDiff:
    """Every compared item and what the comparison means."""

    rows: list[DiffRow] = field(default_factory=list)

    def changed_rows(self) -> list[DiffRow]:
        """The rows that are not ``unchanged``."""
        return [row for row in self.rows if row.op != "unchanged"]

    def fields(self) -> list[str]:
        """The fields that changed, in report order (``body`` for any paragraph)."""
        names = {part: name for name, part in LIST_PARTS.items()}
        changed = {names.get(row.part, row.part) for row in self.changed_rows()}
        order = [*TEXT_FIELDS, *LIST_PARTS, *DATE_FIELDS]
        return [name for name in order if name in changed]

    @property
    def text_changed(self) -> bool:
        """Whether any part of the text (not the dates) differs."""
        return any(row.part in TEXT_PARTS for row in self.changed_rows())

    @property
    def modified_changed(self) -> bool:
        """Whether the claimed modification time differs."""
        return any(row.part == "modified_at" for row in self.changed_rows())

    @property
    def silent_edit(self) -> bool:
        """The text changed but the page's claimed modification time did not."""
        return self.text_changed and not self.modified_changed

    @property
    def modified_only(self) -> bool:
        """The claimed modification time changed but the text did not."""
        return self.modified_changed and not self.text_changed

    def too_large(self) -> list[str]:
        """The lists that differ but were too large to align (:class:`AlignBudget`)."""
        return [name for name, part in LIST_PARTS.items() if self._too_large(part)]

    def _too_large(self, part: str) -> bool:
        return any(row.part == part and row.op == "too_large" for row in self.rows)

    def counts(self, part: str) -> dict[str, int | None]:
        """How many items of one part were added, removed, rewritten and left unchanged (None
        for each when the part was too large to align)."""
        keys = ("added", "removed", "rewritten", "unchanged")
        if self._too_large(part):
            return dict.fromkeys(keys, None)
        result: dict[str, int | None] = dict.fromkeys(keys, 0)
        for row in self.rows:
            if row.part == part and row.op in result:
                result[row.op] = (result[row.op] or 0) + 1
        return result

    def summary(self) -> dict[str, Any]:
        """The change as plain JSON-ready data (what the export and ``version_changes`` keep)."""
        summary: dict[str, Any] = {"fields": self.fields()}
        for row in self.changed_rows():
            if row.part in (*TEXT_FIELDS, *DATE_FIELDS):
                summary[row.part] = {"from": row.left_text, "to": row.right_text}
        for name, part in LIST_PARTS.items():
            summary[name] = self.counts(part)
        if too_large := self.too_large():
            summary["too_large_to_align"] = too_large
        summary["silent_edit"] = self.silent_edit
        summary["modified_only"] = self.modified_only
        return summary

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts, in order."""
        return [asdict(row) for row in self.rows]


def similarity(left: str, right: str) -> float:
    """The word-level similarity of two texts, 0 (nothing shared) to 1 (the same), 3 decimals."""
    return round(SequenceMatcher(None, left.split(), right.split(), autojunk=False).ratio(), 3)


class AlignBudget:
    """How much aligning one save may still do, so that no transaction holds the store's write
    lock for long (a page of 20,000 rewritten paragraphs would pair 400 million of them).

    Two costs are bounded, both linear in what they measure: the item pairs
    :class:`difflib.SequenceMatcher` may look at while aligning a list (the pairs of equal
    items: a list of distinct paragraphs costs its length, one repeated paragraph its square),
    and the text the paragraph-by-paragraph similarity reads (in characters). A list whose
    alignment would go over what is left is not aligned: it gets one ``too_large`` row (its
    lengths as its positions) and is reported as too large to align. One budget serves every
    comparison of a save, the change from the replaced version first; a list compared twice in
    one save (the change and the item-by-item diff with the same version) is aligned once.
    """

    def __init__(self, pairs: int | None = None, characters: int | None = None) -> None:
        self.pairs = MAX_ALIGN_PAIRS if pairs is None else pairs
        self.characters = MAX_SIMILARITY_CHARACTERS if characters is None else characters
        self.aligned: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[DiffRow]] = {}

    def take_pairs(self, left: Sequence[str], right: Sequence[str]) -> bool:
        """Spend what aligning these lists costs; False (nothing spent) when it is over."""
        counts = Counter(right)
        cost = len(left) + len(right) + sum(counts.get(item, 0) for item in left)
        if cost > self.pairs:
            return False
        self.pairs -= cost
        return True

    def take_characters(self, characters: int) -> bool:
        """Spend the text similarities may read; False (nothing spent) when it is over."""
        if characters > self.characters:
            return False
        self.characters -= characters
        return True


# The default budget of one save: at about 0.3 microseconds a character of paragraphs compared,
# the similarities cost at most ~0.4 s and the alignments much less (``benchmarks/diffs.py``
# prints the longest transaction).
MAX_ALIGN_PAIRS = 200_000
MAX_SIMILARITY_CHARACTERS = 1_200_000


class TooLargeToAlign(Exception):
    """Aligning a list would go over the save's :class:`AlignBudget`."""


def likely_similarity(left: list[str], right: list[str]) -> float:
    """:func:`similarity` of two texts' words, or 0 where their counts alone keep it under
    :data:`REWRITE_THRESHOLD` (the ratio is at most twice the shorter side over both)."""
    total = len(left) + len(right)
    if total and 2 * min(len(left), len(right)) < REWRITE_THRESHOLD * total:
        return 0.0
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    return round(matcher.ratio(), 3)


def diff_field(part: str, left: str | None, right: str | None) -> DiffRow:
    """One single-valued field compared."""
    if left == right:
        return DiffRow(part, "unchanged", None, 0, left, 0, right)
    if not left:
        return DiffRow(part, "added", None, None, left, 0, right)
    if not right:
        return DiffRow(part, "removed", None, 0, left, None, right)
    ratio = similarity(left, right) if part in TEXT_PARTS else None
    return DiffRow(part, "changed", ratio, 0, left, 0, right)


def align(
    part: str, left: Sequence[str], right: Sequence[str], budget: AlignBudget | None = None
) -> list[DiffRow]:
    """Two lists of items aligned: unchanged, removed, added, or rewritten with a ratio; one
    ``too_large`` row when the alignment would go over ``budget`` (a fresh one if none)."""
    budget = AlignBudget() if budget is None else budget
    if list(left) == list(right):
        return [DiffRow(part, "unchanged", None, i, item, i, item) for i, item in enumerate(left)]
    key = (part, tuple(left), tuple(right))
    if key not in budget.aligned:
        budget.aligned[key] = _align(part, left, right, budget)
    return budget.aligned[key]


def _align(
    part: str, left: Sequence[str], right: Sequence[str], budget: AlignBudget
) -> list[DiffRow]:
    too_large = [DiffRow(part, "too_large", None, len(left), None, len(right), None)]
    if not budget.take_pairs(left, right):
        return too_large
    rows: list[DiffRow] = []
    matcher = SequenceMatcher(None, list(left), list(right), autojunk=False)
    try:
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows += [
                    DiffRow(part, "unchanged", None, i, left[i], j, right[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            rows += _pair_replaced(part, left, right, range(i1, i2), range(j1, j2), budget)
    except TooLargeToAlign:
        return too_large
    return rows


def _pair_replaced(
    part: str,
    left: Sequence[str],
    right: Sequence[str],
    olds: range,
    news: range,
    budget: AlignBudget,
) -> list[DiffRow]:
    """A replaced stretch: each old item paired in order with its most similar new one among
    the :data:`LOOKAHEAD` after the last paired; raises :class:`TooLargeToAlign` when the text
    that may be compared is over the budget (charged before any is)."""
    reach_new, reach_old = min(LOOKAHEAD, len(news)), min(LOOKAHEAD, len(olds))
    cost = sum(len(left[i]) for i in olds) * reach_new
    cost += sum(len(right[j]) for j in news) * reach_old
    if not budget.take_characters(cost):
        raise TooLargeToAlign
    words = {i: left[i].split() for i in olds}
    new_words = {j: right[j].split() for j in news}
    rows: list[DiffRow] = []
    next_new = news.start
    for i in olds:
        window = range(next_new, min(next_new + LOOKAHEAD, news.stop))
        scored = [(likely_similarity(words[i], new_words[j]), -j) for j in window]
        best = max(scored, default=None)
        if best is None or best[0] < REWRITE_THRESHOLD:
            rows.append(DiffRow(part, "removed", None, i, left[i], None, None))
            continue
        j = -best[1]
        rows += [DiffRow(part, "added", None, None, None, k, right[k]) for k in range(next_new, j)]
        rows.append(DiffRow(part, "rewritten", best[0], i, left[i], j, right[j]))
        next_new = j + 1
    rows += [
        DiffRow(part, "added", None, None, None, k, right[k]) for k in range(next_new, news.stop)
    ]
    return rows


def diff_versions(
    old: VersionText, new: VersionText, budget: AlignBudget | None = None
) -> VersionDiff:
    """Compare two versions field by field, the older one first; lists are aligned within
    ``budget`` (:class:`AlignBudget`, a fresh one if none)."""
    budget = AlignBudget() if budget is None else budget
    rows = [diff_field(name, getattr(old, name), getattr(new, name)) for name in TEXT_FIELDS]
    for name, part in LIST_PARTS.items():
        rows += align(part, getattr(old, name), getattr(new, name), budget)
    rows += [diff_field(name, getattr(old, name), getattr(new, name)) for name in DATE_FIELDS]
    return VersionDiff(rows)
