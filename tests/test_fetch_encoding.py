"""The fetch's ``encoding`` column: written with the fetch, added to stores made before it."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from test_store import failed_fetch, make_crawl

from store import SCHEMA_VERSION, Store
from store.schema import MIGRATIONS


def test_the_encoding_is_stored_with_the_fetch() -> None:
    with Store.memory() as store:
        store.begin_crawl(make_crawl())
        fetch = failed_fetch("https://wire.test/a.html", "unparseable")
        fetch.encoding = "cp1251"
        fetch_id = store.save_fetch(fetch)
        (row,) = store.db.query("select encoding from fetches where id = :id", {"id": fetch_id})
    assert row["encoding"] == "cp1251"


def test_a_store_of_schema_1_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    MIGRATIONS[0](old)
    old.table("fetches").transform(drop={"encoding"})  # as schema 1 made it before the column
    old.execute("PRAGMA user_version = 1")
    old.close()
    assert "encoding" not in Database(path).table("fetches").columns_dict
    with Store(path) as store:
        assert "encoding" in store.db.table("fetches").columns_dict
        assert next(store.db.query("PRAGMA user_version"))["user_version"] == SCHEMA_VERSION
