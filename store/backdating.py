"""A version older than the ones an article has: its place in true time order.

A crawl's fetch is always the newest reading of its page, so its new text becomes the next
version. An imported capture (``python -m store import``, issue 13) may be years older than
the store's first crawl: its text must take its place in time, before the versions first seen
after it. :func:`make_room` numbers it by ``created_at`` and moves the later versions up by one
— their number, nothing else: each row, its text, its fetch and its time stay as they were. The
numbers copied into ``version_changes`` and ``version_diffs`` follow. Which change summaries
must be computed again (the version after the newcomer now changed from it, not from the one
before) is :class:`store.history.History`'s to do, with :func:`neighbours`.
"""

from __future__ import annotations

from store.repository import Repository

SELECT_PLACE = """
SELECT
  (SELECT count(*) FROM versions WHERE article_id = :article_id AND created_at <= :seen) + 1
    AS number,
  (SELECT coalesce(max(version), 0) FROM versions WHERE article_id = :article_id) AS last
"""
# Two steps, because (article_id, version) is unique: out of the way (negative), then back.
SHIFT_OUT = """
UPDATE versions SET version = -(version + 1) WHERE article_id = :article_id AND version >= :from
"""
SHIFT_BACK = "UPDATE versions SET version = -version WHERE article_id = :article_id AND version < 0"
RENUMBER_CHANGES = """
UPDATE version_changes SET
  version = (SELECT version FROM versions WHERE id = version_changes.version_id),
  previous_version = (
    SELECT version FROM versions WHERE id = version_changes.previous_version_id
  )
WHERE article_id = :article_id
"""
RENUMBER_CHANGE_SUMMARIES = """
UPDATE version_changes SET summary = json_set(summary, '$.previous_version', previous_version)
WHERE article_id = :article_id
"""
RENUMBER_DIFFS = """
UPDATE version_diffs SET
  from_version = (SELECT version FROM versions WHERE id = version_diffs.from_version_id),
  to_version = (SELECT version FROM versions WHERE id = version_diffs.to_version_id)
WHERE article_id = :article_id
"""
SELECT_BY_NUMBER = "SELECT id FROM versions WHERE article_id = :article_id AND version = :version"


def make_room(repo: Repository, article_pk: int, seen: str) -> int:
    """The number a new version first seen at ``seen`` takes; later versions move up by one."""
    place = repo.one(SELECT_PLACE, {"article_id": article_pk, "seen": seen})
    assert place is not None
    number, last = int(place["number"]), int(place["last"])
    if number > last:
        return last + 1
    params = {"article_id": article_pk, "from": number}
    repo.db.execute(SHIFT_OUT, params)
    repo.db.execute(SHIFT_BACK, params)
    for sql in (RENUMBER_CHANGES, RENUMBER_CHANGE_SUMMARIES, RENUMBER_DIFFS):
        repo.db.execute(sql, params)
    return number


def version_id(repo: Repository, article_pk: int, number: int) -> int | None:
    """The id of an article's version with this number, if there is one."""
    row = repo.one(SELECT_BY_NUMBER, {"article_id": article_pk, "version": number})
    return None if row is None else int(row["id"])


def neighbours(repo: Repository, article_pk: int, number: int) -> tuple[int | None, int | None]:
    """The ids of the versions just before and just after version ``number``."""
    return version_id(repo, article_pk, number - 1), version_id(repo, article_pk, number + 1)
