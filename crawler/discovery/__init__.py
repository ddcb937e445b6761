"""Discovery: the sources a section spider finds articles through, each in a module of its own.

* the section's listing (``crawler/spiders/section.py``: the section page and, where robots.txt
  allows it, its "load more" chunks);
* robots.txt (:mod:`crawler.discovery.robots`): its rules, its fetch kept as evidence, the
  article sitemaps it names;
* the article sitemaps (:mod:`crawler.discovery.sitemaps`);
* the edition's RSS feed (:mod:`crawler.discovery.feed`);
* day archives ``/YYYYMMDD/`` (:mod:`crawler.discovery.archive`).

Candidates from the sources that do not say the section (RSS, sitemaps, day archives) are
fetched with ``required_section`` set, and kept as articles only when the page's own rubric or
tags name the section (``pipelines/article.py``); the others are recorded as fetches with the
outcome ``out_of_section``.
"""
