"""Stores of every earlier schema version open, migrate to the current one and keep their data.

Each old file is made as its version made it: the historical migration steps up to that version
(:data:`store.schema.MIGRATIONS`), its version in ``PRAGMA user_version`` and no
``_sqlite_migrations`` table, and the rows a store of today writes, in the shape of that version
(the body in ``versions.body`` and ``versions.body_text`` before version 5, the blocks' data in
full before version 4, no ``encoding`` before 3, no history tables before 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database
from test_blockdata import article_with_fixture_blocks
from test_store import SITE, T1, T2, article_fetch, make_article, make_crawl, revise

from domain.pages import Block
from domain.records import ArticleRecord
from store import SCHEMA_VERSION, Store
from store.schema import MIGRATIONS, STEPS, body_offsets, schema_version

HISTORY_TABLES = ("observations", "article_events", "version_changes", "version_diffs", "reparses")


def dateline_article(*rest: str) -> ArticleRecord:
    """An article whose first paragraph opens with the dateline, cut off its body paragraph."""
    texts = ["NAIROBI (Sputnik) - The first paragraph.", *rest]
    record = make_article(f"{SITE}/dateline.html", body=["The first paragraph.", *rest])
    blocks = [Block("text", i, text) for i, text in enumerate(texts)]
    blocks[0].dateline = "NAIROBI (Sputnik) -"
    return revise(record, blocks=blocks)


def new_store() -> Store:
    """Today's store with three versions of two articles (one with its dateline cut off)."""
    store = Store.memory()
    store.begin_crawl(make_crawl())
    first = dateline_article("The second, naïve.", "A third.")
    second = dateline_article("A rewritten second.")
    blocky, _ = article_with_fixture_blocks()
    for record, at in ((first, T1), (second, T2), (blocky, T2)):
        store.save_article(article_fetch(record, fetched_at=at), record)
    return store


def old_file(path: Path, version: int, rows: dict[str, list[dict[str, Any]]]) -> None:
    """A file as schema ``version`` made it, holding ``rows`` (today's) in that version's shape."""
    db = Database(path)
    for step in MIGRATIONS[:version]:
        with db.atomic():
            step(db)
    # a view of that time that reads the body column (as the ``changes`` view did)
    db.create_view("changes", "SELECT id, json_array_length(body) AS paragraphs FROM versions")
    bodies: dict[int, list[str]] = {}
    for block in rows["body_paragraphs"]:
        bodies.setdefault(block["version_id"], []).append(block["paragraph"])
    with db.atomic():
        for table, table_rows in rows.items():
            if not db[table].exists() or table in db.view_names():
                continue  # a table of a later version, or one that is now a view
            columns = set(db.table(table).columns_dict)
            for row in table_rows:
                old = {key: value for key, value in row.items() if key in columns}
                if table == "versions" and version < 5:
                    body = bodies.get(row["id"], [])
                    old.update(
                        body=json.dumps(body, ensure_ascii=False), body_text="\n\n".join(body)
                    )
                if table == "blocks" and version < 4:
                    old["data"] = json.dumps(full_block(row))
                db.table(table).insert(old)
    if version >= 5:  # the store indexes each version as it inserts it; these rows were copied
        db.execute("INSERT INTO versions_fts (versions_fts) VALUES ('rebuild')")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()


def full_block(row: dict[str, Any]) -> dict[str, Any]:
    """A block's data as schema versions 1 to 3 stored it: the parser's whole block."""
    from store import blockdata

    return blockdata.unpack(row["kind"], row["position"], row["text"], row["data"])


TABLES = (
    "crawls", "bodies", "fetches", "articles", "versions", "blocks", "captions", "related_links",
    "tags", "listing_pages", "listings", *HISTORY_TABLES, "body_paragraphs",
)  # fmt: skip


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_a_store_of_every_earlier_schema_version_migrates_with_its_data(
    tmp_path: Path, version: int
) -> None:
    with new_store() as today:
        rows = {table: list(today.db.query(f"SELECT * FROM {table}")) for table in TABLES}
        expected = [json.loads(line) for line in today.export_version_lines()]
        blocks = {row["id"]: today.blocks(row["id"]) for row in rows["versions"]}
        found = sorted(r["id"] for r in today.db.query(SEARCH, {"q": "rewritten"}))
    if version == 1:  # no change summaries; one observation per version, by the first fetch
        for line in expected:
            line["change"] = None
    path = tmp_path / f"v{version}.db"
    old_file(path, version, rows)
    with Store(path) as store:
        assert schema_version(store.db) == SCHEMA_VERSION
        assert [step.name for step in STEPS.applied(store.db)] == [
            step.__name__.removeprefix("_") for step in MIGRATIONS
        ]
        assert [json.loads(line) for line in store.export_version_lines()] == expected
        assert {version_id: store.blocks(version_id) for version_id in blocks} == blocks
        assert sorted(r["id"] for r in store.db.query(SEARCH, {"q": "rewritten"})) == found
        assert not {"body", "body_text"} & set(store.db.table("versions").columns_dict)
        offsets = [r["body_offset"] for r in store.db.query("SELECT body_offset FROM blocks")]
        assert len(b"NAIROBI (Sputnik) - ") in offsets
        observations = store.db.table("observations").count
        assert observations == (3 if version == 1 else len(rows["observations"]))
    with Store(path) as again:  # migrated once: opening again changes nothing
        assert len(STEPS.applied(again.db)) == SCHEMA_VERSION


SEARCH = "SELECT rowid AS id FROM versions_fts WHERE versions_fts MATCH :q"


def test_a_store_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    db = Database(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this code"):
        Store(path)


def test_a_body_that_is_not_its_blocks_text_stops_the_migration() -> None:
    assert body_offsets(1, ["b c", "d"], [(0, "a - b c"), (1, "d")]) == [4, 0]
    with pytest.raises(RuntimeError, match="not its text"):
        body_offsets(1, ["x"], [(0, "a - b c")])
    with pytest.raises(RuntimeError, match="1 body paragraphs but 2"):
        body_offsets(1, ["d"], [(0, "a"), (1, "d")])


def test_a_fresh_store_records_every_step(tmp_path: Path) -> None:
    with Store(tmp_path / "fresh.db") as store:
        assert len(STEPS.applied(store.db)) == SCHEMA_VERSION
        assert schema_version(store.db) == SCHEMA_VERSION
