"""A real HTTP server on 127.0.0.1 that serves a recorded fixture set, for crawl tests.

Run as ``python -m tests.mockserver FIXTURE_SET``: it binds a free port, prints
``PORT <n>`` on its first line, and serves each fixture at its URL's path and query (any
host), with the recorded status, headers and body. Unknown paths answer 404. Tests start it
in a subprocess with :func:`serve_fixture_set`, like Scrapy's own mock server.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def path_key(url: str) -> str:
    """The part of a URL the server matches on: path and query."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def make_handler(fixture_set: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving ``fixture_set``."""
    sys.path.insert(0, str(ROOT))
    from crawler.fixtures import index_fixture_set

    by_path = {path_key(f.url): f for f in index_fixture_set(fixture_set).values()}

    class FixtureHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fixture = by_path.get(self.path)
            if fixture is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = fixture.body()
            self.send_response(fixture.status)
            for name, value in fixture.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return FixtureHandler


@contextmanager
def serve_fixture_set(fixture_set: Path) -> Iterator[int]:
    """Run the server in a subprocess for the duration of the block; yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mockserver", str(fixture_set)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    """Serve the fixture set named on the command line until terminated."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Path(sys.argv[1])))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
