"""Two texts compared word by word, for a reader: the runs both share, the words only the older
has (deleted) and the words only the newer has (inserted), as NewsDiffs and diffengine mark
them. Pure code: :class:`difflib.SequenceMatcher` over word tokens.

The cost is bounded (:class:`WordBudget`): SequenceMatcher's work on two token lists grows up
to the product of their lengths, so a pair is compared word by word only while the page's
budget of token pairs lasts, and a pair of more than :data:`MAX_PAIR_TOKENS` tokens never is;
past that the older text is shown deleted and the newer inserted, whole — the same words, only
less finely marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

SegmentOp = Literal["equal", "delete", "insert"]

# A word with the whitespace after it, so joining the tokens gives the text back exactly.
TOKEN = re.compile(r"\S+\s*|\s+")
# The largest pair of texts compared word by word (tokens on both sides together).
MAX_PAIR_TOKENS = 6000
# Token pairs one page may compare (the sum over its pairs of left tokens x right tokens).
MAX_PAGE_TOKEN_PAIRS = 20_000_000


@dataclass(frozen=True)
class Segment:
    """A run of text and what happened to it."""

    op: SegmentOp
    text: str


class WordBudget:
    """What word-by-word comparison one page may still do."""

    def __init__(self, pairs: int = MAX_PAGE_TOKEN_PAIRS) -> None:
        self.pairs = pairs

    def take(self, left: int, right: int) -> bool:
        """Spend the cost of comparing ``left`` with ``right`` tokens; False when over."""
        cost = left * right
        if left + right > MAX_PAIR_TOKENS or cost > self.pairs:
            return False
        self.pairs -= cost
        return True


def tokens(text: str) -> list[str]:
    """A text's words, each with the whitespace that follows it."""
    return TOKEN.findall(text)


def word_diff(
    left: str | None, right: str | None, budget: WordBudget | None = None
) -> tuple[list[Segment], list[Segment]]:
    """The older text's segments (equal and deleted) and the newer one's (equal and
    inserted)."""
    left, right = left or "", right or ""
    if left == right:
        return ([Segment("equal", left)] if left else []), (
            [Segment("equal", right)] if right else []
        )
    old, new = tokens(left), tokens(right)
    budget = WordBudget() if budget is None else budget
    if not old or not new or not budget.take(len(old), len(new)):
        return (
            [Segment("delete", left)] if left else [],
            [Segment("insert", right)] if right else [],
        )
    # tokens compared without their trailing whitespace: a word moved to the end of a
    # paragraph is the same word
    matcher = SequenceMatcher(
        None, [t.rstrip() for t in old], [t.rstrip() for t in new], autojunk=False
    )
    before: list[Segment] = []
    after: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            before.append(Segment("equal", "".join(old[i1:i2])))
            after.append(Segment("equal", "".join(new[j1:j2])))
            continue
        if i2 > i1:
            before.append(Segment("delete", "".join(old[i1:i2])))
        if j2 > j1:
            after.append(Segment("insert", "".join(new[j1:j2])))
    return before, after
