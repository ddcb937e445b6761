"""A real HTTP server on 127.0.0.1 that serves a recorded fixture set and misbehaves on demand.

Run as ``python -m tests.mockserver FIXTURE_SET [--faults FAULTS.json] [--log LOG.jsonl]``: it
binds a free port, prints ``PORT <n>`` on its first line, and serves each fixture at its URL's
path and query (any host), with the recorded status, headers and body; a query the recording
lacks is served the page without it. Unknown paths answer 404. Tests start it in a
subprocess with :func:`serve_fixture_set`, like Scrapy's own mock server.

``FAULTS.json`` maps a path (and query) to a list of *rules*; the n-th request to that path
follows the n-th rule, and the last rule repeats (a path with a query that has no rules of its
own follows those of the bare path). A rule is an object whose keys change the
fixture's answer (an empty rule ``{}`` serves the fixture as recorded):

* ``delay`` — seconds to wait before answering
* ``status`` — the HTTP status to send (the body is then empty unless ``body`` is given)
* ``headers`` — headers to add or replace (a ``null`` value removes the header)
* ``body`` — a text to send instead of the fixture's body, encoded as ``body_encoding``
  (default UTF-8)
* ``reencode`` — the fixture's UTF-8 text re-encoded in this codec (e.g. ``cp1251``)
* ``replace`` — ``[old, new]`` pairs of text to replace in the body before encoding
* ``bytes_replace`` — ``[old, new]`` pairs of text, each encoded as Latin-1, replaced in the
  body's bytes after encoding (to put bytes no encoding reads into a page)
* ``truncate`` — the body cut to this many bytes, sent whole (a matching ``Content-Length``)
* ``chain`` — answer a "load more" chunk with no entries whose next chunk is this path with
  the query ``?page=`` one more than the request's (an endless pagination)
* ``bom`` — true: put a UTF-8 byte order mark before the body
* ``pad_to`` — grow the body to this many bytes (an HTML comment before ``</body>``)
* ``gzip_bomb`` — the body is this many zero bytes, gzip-compressed (``Content-Encoding: gzip``)
* ``redirect`` — answer ``302`` with this ``Location``
* ``drop_after`` — send only this many bytes of the body, then close the connection
* ``no_length`` — send no ``Content-Length`` (the body then ends when the connection closes)

With ``--log`` every request is appended to a JSON-lines file as
``{"time": <Unix seconds>, "path": ..., "rule": <index or null>, "agent": <User-Agent>}``
when it arrives, so a test
can check what the server saw (e.g. how long a client waited before retrying).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent

Rule = dict[str, Any]


def path_key(url: str) -> str:
    """The part of a URL the server matches on: path and query."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def padded(body: bytes, size: int) -> bytes:
    """``body`` grown to ``size`` bytes by an HTML comment before ``</body>`` (or at the end)."""
    missing = max(0, size - len(body) - len(b"<!--  -->"))
    comment = b"<!-- " + b"x" * missing + b" -->"
    if b"</body>" in body:
        return body.replace(b"</body>", comment + b"</body>", 1)
    return body + comment


def chain_chunk(path: str, requested: str) -> bytes:
    """A "load more" chunk without entries whose next chunk is ``path?page=N+1``."""
    page = int(parse_qs(urlsplit(requested).query).get("page", ["1"])[0])
    return (
        f'<div class="list-items-loaded" data-next-url="{path}?page={page + 1}"></div>\n'.encode()
    )


def apply_rule(
    rule: Rule, status: int, headers: dict[str, str], body: bytes, requested: str = "/"
) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body a rule makes of a fixture's answer to ``requested``."""
    headers = dict(headers)
    if "chain" in rule:
        status, body = 200, chain_chunk(str(rule["chain"]), requested)
        headers["Content-Type"] = "text/html; charset=utf-8"
    if "status" in rule:
        status = int(rule["status"])
        body = b""
    if "body" in rule:
        body = str(rule["body"]).encode(rule.get("body_encoding", "utf-8"))
    if "replace" in rule or "reencode" in rule:
        text = body.decode("utf-8")
        for old, new in rule.get("replace", []):
            text = text.replace(old, new)
        body = text.encode(rule.get("reencode", "utf-8"), errors="xmlcharrefreplace")
    for old, new in rule.get("bytes_replace", []):
        body = body.replace(old.encode("latin-1"), new.encode("latin-1"))
    if "truncate" in rule:
        body = body[: int(rule["truncate"])]
    if rule.get("bom"):
        body = b"\xef\xbb\xbf" + body
    if "pad_to" in rule:
        body = padded(body, int(rule["pad_to"]))
    if "gzip_bomb" in rule:
        body = gzip.compress(b"\0" * int(rule["gzip_bomb"]), compresslevel=9)
        headers["Content-Encoding"] = "gzip"
    if "redirect" in rule:
        status, body = 302, b""
        headers["Location"] = str(rule["redirect"])
    for name, value in rule.get("headers", {}).items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = str(value)
    return status, headers, body


class FaultPlan:
    """Which rule answers the n-th request to a path, and the request log."""

    def __init__(self, rules: dict[str, list[Rule]], log: Path | None) -> None:
        self.rules = rules
        self.log = log
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def next_rule(self, path: str, agent: str | None = None) -> Rule | None:
        """The rule for this request to ``path`` (counted), logged with its arrival time."""
        with self.lock:
            arrived = time.time()
            index = self.seen[path]
            self.seen[path] += 1
            rules = self.rules.get(path) or self.rules.get(urlsplit(path).path)
            number = min(index, len(rules) - 1) if rules else None
            if self.log is not None:
                line = {"time": arrived, "path": path, "rule": number, "agent": agent}
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line) + "\n")
            return rules[number] if rules and number is not None else None


def make_handler(fixture_set: Path, plan: FaultPlan | None = None) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving ``fixture_set``, misbehaving as ``plan`` says."""
    sys.path.insert(0, str(ROOT))
    from crawler.fixtures import index_fixture_set

    by_path = {path_key(f.url): f for f in index_fixture_set(fixture_set).values()}
    faults = plan or FaultPlan({}, None)

    class FixtureHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rule = faults.next_rule(self.path, self.headers.get("User-Agent")) or {}
            # a query the recording lacks (tracking parameters) is served the page without it
            fixture = by_path.get(self.path) or by_path.get(urlsplit(self.path).path)
            if fixture is None:
                status, headers, body = 404, {}, b""
            else:
                status, headers, body = fixture.status, dict(fixture.headers), fixture.body()
            status, headers, body = apply_rule(rule, status, headers, body, self.path)
            if "delay" in rule:
                time.sleep(float(rule["delay"]))
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            if not rule.get("no_length"):
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: rule["drop_after"]] if "drop_after" in rule else body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            return

    return FixtureHandler


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print the client's broken pipes (a timed-out client)."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore a client that went away."""
        return


@contextmanager
def serve_fixture_set(
    fixture_set: Path,
    faults: dict[str, list[Rule]] | None = None,
    log: Path | None = None,
) -> Iterator[int]:
    """Run the server in a subprocess for the duration of the block; yields its port.

    ``faults`` (path -> rules) is written beside ``log`` (or to a temporary file) for the
    server to read.
    """
    command = [sys.executable, "-m", "tests.mockserver", str(fixture_set)]
    faults_file = None
    if faults:
        with tempfile.NamedTemporaryFile(
            "w", suffix=".json", prefix="faults-", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(faults, handle)
        faults_file = Path(handle.name)
        command += ["--faults", str(faults_file)]
    if log is not None:
        command += ["--log", str(log)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        if faults_file is not None:
            faults_file.unlink(missing_ok=True)


def read_log(log: Path) -> list[dict[str, Any]]:
    """The requests a server logged, in order of arrival."""
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    """Serve the fixture set named on the command line until terminated."""
    parser = argparse.ArgumentParser(prog="python -m tests.mockserver")
    parser.add_argument("fixture_set", type=Path)
    parser.add_argument("--faults", type=Path, help="a JSON file: path -> list of rules")
    parser.add_argument("--log", type=Path, help="append every request to this JSON-lines file")
    args = parser.parse_args()
    rules = json.loads(args.faults.read_text(encoding="utf-8")) if args.faults else {}
    plan = FaultPlan(rules, args.log)
    server = QuietServer(("127.0.0.1", 0), make_handler(args.fixture_set, plan))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
