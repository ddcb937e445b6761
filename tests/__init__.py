"""The project's tests, a regular package: a ``tests`` package that some installed
distribution ships at the top level of site-packages must not hide this one from
``from tests.crawling import …`` and ``python -m tests.mockserver``."""
