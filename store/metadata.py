"""The Datasette metadata of a store, keyed for the file it is served with.

Datasette finds table and query metadata under ``databases: <name>``, where the name is the
database file's stem. ``metadata.yml`` is written for a store named ``wire.db``
(:data:`YAML_DATABASE`); :func:`load_metadata` re-keys it for any store path, and
``python -m store metadata STORE_PATH`` prints that as JSON for ``datasette -m``.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

METADATA_FILE = "metadata.yml"
# Datasette settings ``python -m store serve`` passes (``--setting NAME VALUE``). Suggested
# facets cost one query per column of every table page (each up to
# facet_suggest_time_limit_ms): on a big store that is most of a page's time, and the facets
# worth showing are named in metadata.yml. A visitor can still facet by any column (?_facet=).
# A facet counts every row the page filters (all of a table's, unfiltered): at a million
# versions no facet of a big table finishes in a page's time, so each is given 25 ms (an
# eighth of Datasette's default), then shown as timed out; a filtered page's facets finish.
SERVE_SETTINGS: dict[str, bool | int] = {"suggest_facets": False, "facet_time_limit_ms": 25}


def setting_options() -> list[str]:
    """:data:`SERVE_SETTINGS` as the options of ``datasette serve``."""
    options = []
    for name, value in SERVE_SETTINGS.items():
        written = ("on" if value else "off") if isinstance(value, bool) else str(value)
        options += ["--setting", name, written]
    return options


YAML_DATABASE = "wire"  # the database key metadata.yml is written under


def read_yaml() -> dict[str, Any]:
    """The metadata exactly as ``metadata.yml`` (package data of ``store``) has it."""
    text = resources.files("store").joinpath(METADATA_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{METADATA_FILE} does not hold a mapping")
    return data


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives the database in this file: the file's stem."""
    return Path(db_path).stem


def load_metadata(db_path: str | Path) -> dict[str, Any]:
    """The metadata with its database section keyed by this store file's name."""
    metadata = copy.deepcopy(read_yaml())
    database = metadata["databases"].pop(YAML_DATABASE)
    metadata["databases"] = {database_name(db_path): database}
    return metadata


def metadata_json(db_path: str | Path) -> str:
    """:func:`load_metadata` as JSON text, for ``datasette -m``."""
    return json.dumps(load_metadata(db_path), ensure_ascii=False, indent=2)
