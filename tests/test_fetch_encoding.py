"""The fetch's ``encoding`` column: written with the fetch, added to stores made before it."""

from __future__ import annotations

from test_store import failed_fetch, make_crawl

from store import Store


def test_the_encoding_is_stored_with_the_fetch() -> None:
    with Store.memory() as store:
        store.begin_crawl(make_crawl())
        fetch = failed_fetch("https://wire.test/a.html", "unparseable")
        fetch.encoding = "cp1251"
        fetch_id = store.save_fetch(fetch)
        (row,) = store.db.query("select encoding from fetches where id = :id", {"id": fetch_id})
    assert row["encoding"] == "cp1251"
