"""The vocabulary every layer speaks: plain records, outcomes, and the rules written once.

Nothing here imports Scrapy, SQLite or another package of the project:

* :mod:`domain.pages` — what a site parser reads from a page (article, blocks, dates, tags,
  listing entries);
* :mod:`domain.records` — what the store keeps (crawls, fetches and their outcomes, the article
  record the article chain makes, listings);
* :mod:`domain.text` — text normalization and article identity;
* :mod:`domain.hashing` — the hash rules;
* :mod:`domain.times` — the one ISO 8601 format of the store, and its parser.

The layers above it are described in the README's *Architecture* section.
"""
