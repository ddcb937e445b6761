"""Two versions side by side for a reader: the store's own alignment (:func:`store.diff.
diff_versions`: header fields, paragraphs paired as unchanged, rewritten, added or removed,
captions, related links, tags, the claimed dates) with each paired text marked word by word
(:mod:`store.web.worddiff`). Both steps are bounded: the alignment by the store's
:class:`~store.diff.AlignBudget` (a list over it is shown whole on both sides, unaligned), the
word marking by a :class:`~store.web.worddiff.WordBudget`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store.diff import LIST_PARTS, AlignBudget, DiffRow, VersionText, diff_versions
from store.web.worddiff import Segment, SegmentOp, WordBudget, word_diff

# What each part is called on the page.
PART_NAMES = {
    "title": "Title",
    "lead": "Lead",
    "dateline": "Dateline",
    "paragraph": "Paragraph",
    "caption": "Photo caption | credit",
    "related_link": "Related link (title | URL)",
    "tag": "Tag",
    "published_at": "Published (UTC)",
    "modified_at": "Modified (UTC)",
}


# The most rows a page shows: past it, runs of unchanged items fold into one row each, and
# what is still over is left out (and counted).
MAX_ROWS = 5000


@dataclass(frozen=True)
class SideBySide:
    """One row of the page: a part, what happened, each side's marked text."""

    part: str
    name: str
    op: str
    similarity: float | None
    left_number: int | None  # 1-based place in the older version's list (None: a field)
    right_number: int | None
    left: list[Segment]
    right: list[Segment]


@dataclass
class Comparison:
    """What the diff page shows."""

    rows: list[SideBySide] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)
    silent_edit: bool = False  # computed from the two versions' claimed modification times
    left_out: int = 0  # rows past MAX_ROWS, not shown

    @property
    def changed(self) -> int:
        """How many rows differ."""
        return sum(row.op != "unchanged" for row in self.rows)


def number(part: str, position: int | None) -> int | None:
    """A list item's 1-based place; None for a single field."""
    if position is None or part not in LIST_PARTS.values():
        return None
    return position + 1


def whole(part: str, old: VersionText, new: VersionText) -> tuple[list[SideBySide], int]:
    """A list too large to align: its items of each side, whole, unmarked, side by side (the
    first :data:`MAX_ROWS`), and how many rows more there would be."""
    name = next(name for name, one in LIST_PARTS.items() if one == part)
    left, right = list(getattr(old, name)), list(getattr(new, name))
    rows = []
    length = max(len(left), len(right))
    for i in range(min(length, MAX_ROWS)):
        rows.append(
            SideBySide(
                part,
                PART_NAMES[part],
                "too_large",
                None,
                i + 1 if i < len(left) else None,
                i + 1 if i < len(right) else None,
                [Segment("equal", left[i])] if i < len(left) else [],
                [Segment("equal", right[i])] if i < len(right) else [],
            )
        )
    return rows, length - len(rows)


def side_by_side(row: DiffRow, budget: WordBudget) -> SideBySide:
    """One aligned row with its texts marked word by word."""
    if row.op in ("rewritten", "changed"):
        left, right = word_diff(row.left_text, row.right_text, budget)
    else:
        left_op: SegmentOp = "equal" if row.op == "unchanged" else "delete"
        right_op: SegmentOp = "equal" if row.op == "unchanged" else "insert"
        left = [Segment(left_op, row.left_text)] if row.left_text else []
        right = [Segment(right_op, row.right_text)] if row.right_text else []
    return SideBySide(
        row.part,
        PART_NAMES.get(row.part, row.part),
        row.op,
        row.similarity,
        number(row.part, row.left_position),
        number(row.part, row.right_position),
        left,
        right,
    )


def compare(
    old: VersionText,
    new: VersionText,
    align_budget: AlignBudget | None = None,
    word_budget: WordBudget | None = None,
) -> Comparison:
    """The older version against the newer, row by row, marked for a reader."""
    diff = diff_versions(old, new, align_budget)
    words = WordBudget() if word_budget is None else word_budget
    result = Comparison(
        fields=diff.fields(), too_large=diff.too_large(), silent_edit=diff.silent_edit
    )
    rows: list[SideBySide | DiffRow] = []
    for row in diff.rows:
        if row.op == "too_large":
            shown, more = whole(row.part, old, new)
            rows += shown
            result.left_out += more
        else:
            rows.append(row)
    if len(rows) > MAX_ROWS:
        rows = fold_unchanged(rows)
    result.left_out += max(0, len(rows) - MAX_ROWS)
    for item in rows[:MAX_ROWS]:
        result.rows.append(side_by_side(item, words) if isinstance(item, DiffRow) else item)
    return result


def fold_unchanged(rows: list[SideBySide | DiffRow]) -> list[SideBySide | DiffRow]:
    """Each run of unchanged items of a list as one row that says how many it holds."""
    folded: list[SideBySide | DiffRow] = []
    run: list[DiffRow] = []

    def flush() -> None:
        if len(run) > 1:
            part = run[0].part
            name = f"{len(run)} unchanged ({PART_NAMES.get(part, part)})"
            folded.append(SideBySide(part, name, "folded", None, None, None, [], []))
        else:
            folded.extend(run)
        run.clear()

    for row in rows:
        if isinstance(row, DiffRow) and row.op == "unchanged" and row.part in LIST_PARTS.values():
            if run and run[0].part != row.part:
                flush()
            run.append(row)
            continue
        flush()
        folded.append(row)
    flush()
    return folded
