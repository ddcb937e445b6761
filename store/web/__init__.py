"""The archive's web pages on Datasette. The package is the reader's plugin (routes in
:mod:`store.web.reader`); its ``templates`` folder also holds the front page's templates
(hooks in :mod:`store.web.front`, an entry point of its own).

The package, not the module, is the plugin's entry point (``wirearchive-reader`` in
``pyproject.toml``): Datasette 0.65 finds a plugin's templates as the ``templates`` folder of
the plugin's package (``importlib.resources.files(plugin.__name__)``), which on Python 3.11
refuses a module that is not a package. So both ``python -m store serve`` and plain
``datasette STORE -m metadata.json`` find them, with no ``--template-dir``.
"""

from store.web.reader import prepare_connection, register_routes, render_cell

__all__ = ["prepare_connection", "register_routes", "render_cell"]
