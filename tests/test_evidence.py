"""``python -m store evidence`` / ``verify`` / ``keygen``: one article's proof as a WACZ, and
every way a changed bundle is caught (issue 13, part 4)."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from wacz.main import main as wacz_main

from pipelines.evidence_verify import verify_bundle
from store import Store
from store.__main__ import main as store_main
from store.lookup import find_article
from tests.crawling import replay

MOMENTS = {f"fixtures/sputnik-africa-t{t}": f"2023-02-0{t}T12:00:00Z" for t in (1, 2, 3)}
ZAMBIA_ID = "1106600101"
ZAMBIA = (
    "https://sputnikglobe.com/20230201/zambia-signs-debt-restructuring-deal-with-creditors-"
    f"{ZAMBIA_ID}.html"
)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the three recordings of the section replayed in order: Zambia's article has
    two versions, the second seen twice."""
    store = tmp_path_factory.mktemp("evidence") / "wire.db"
    for fixture_set, moment in MOMENTS.items():
        replay(store, "-s", f"RECHECK_NOW={moment}", fixture_set=fixture_set)
    return store


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two keys made with ``keygen``: (signer, someone else)."""
    folder = tmp_path_factory.mktemp("keys")
    for name in ("signer.pem", "other.pem"):
        assert store_main(["keygen", str(folder / name)]) == 0
    return folder / "signer.pem", folder / "other.pem"


@pytest.fixture(scope="module")
def bundle(history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zambia's evidence, every version, unsigned."""
    out = tmp_path_factory.mktemp("bundle") / "zambia.wacz"
    assert store_main(["evidence", str(history), ZAMBIA, "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def signed(
    history: Path, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Zambia's evidence signed with the signer's key."""
    out = tmp_path_factory.mktemp("signed") / "zambia.wacz"
    args = ["evidence", str(history), ZAMBIA_ID, "-o", str(out), "--sign", str(keys[0])]
    assert store_main(args) == 0
    return out


def verify(path: Path, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, list[str]]:
    """Run ``verify``; its status and its lines."""
    capsys.readouterr()
    status = store_main(["verify", str(path), *args])
    return status, capsys.readouterr().out.splitlines()


def failed(lines: list[str]) -> set[str]:
    """The names of the checks that failed."""
    return {line.split(": ")[1] for line in lines if line.startswith("FAILED: ")}


def rewrite(source: Path, target: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """Copy a bundle with one member changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, change(data) if info.filename == name else data)


def members(data: bytes) -> list[bytes]:
    """The gzip members of a WARC.gz, each decompressed."""
    parts = []
    while data:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        parts.append(inflater.decompress(data))
        data = inflater.unused_data
    return parts


def change_a_page(data: bytes) -> bytes:
    """The WARC with one byte changed in the body of its first response that has the word."""
    parts = members(data)
    index = next(i for i, part in enumerate(parts) if b"WARC-Type: response" in part)
    parts[index] = parts[index].replace(b"Zambia", b"Zambie", 1)
    return b"".join(zlib.compress(part, wbits=zlib.MAX_WBITS | 16) for part in parts)


def test_a_bundle_verifies_and_holds_every_version(
    bundle: Path, history: Path, capsys: pytest.CaptureFixture
) -> None:
    status, lines = verify(bundle, capsys)
    assert status == 0, lines
    assert lines[-1] == f"{bundle}: verified"
    assert not failed(lines)
    reparsed = [line for line in lines if line.startswith("ok: re-parse fetch ")]
    with Store(history) as store:
        fetches = list(
            store.db.query(
                "SELECT DISTINCT o.fetch_id FROM observations AS o "
                "JOIN articles AS a ON a.id = o.article_id WHERE a.url = :url",
                {"url": ZAMBIA},
            )
        )
    assert len(reparsed) == len(fetches) == 3  # version 1 once, version 2 twice
    with zipfile.ZipFile(bundle) as package:
        record = json.loads(package.read("logs/record.json"))
        history_file = json.loads(package.read("logs/history.json"))
        provenance = json.loads(package.read("logs/provenance.json"))
    assert record["url"] == ZAMBIA and record["version"] == 2
    assert [v["version"] for v in history_file["versions"]] == [1, 2]
    assert history_file["diffs"] and history_file["changes"]
    assert provenance["discovery"]["listings"]  # the section listed it


def test_the_bundle_validates_as_a_wacz(bundle: Path, capsys: pytest.CaptureFixture) -> None:
    assert wacz_main(["validate", "-f", str(bundle)]) == 0
    assert "Validation succeeded" in capsys.readouterr().out


def test_one_version_only(history: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "v1.wacz"
    args = ["evidence", str(history), ZAMBIA, "-o", str(out), "--version", "1"]
    assert store_main(args) == 0
    status, lines = verify(out, capsys)
    assert status == 0, lines
    assert len([line for line in lines if line.startswith("ok: re-parse fetch ")]) == 1
    with zipfile.ZipFile(out) as package:
        assert json.loads(package.read("logs/record.json"))["version"] == 1
    assert store_main([*args[:-1], "7"]) == 2
    assert "has no version 7" in capsys.readouterr().err


def test_a_changed_raw_page_is_caught(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tampered = tmp_path / "tampered.wacz"
    rewrite(bundle, tampered, "archive/evidence.warc.gz", change_a_page)
    status, lines = verify(tampered, capsys)
    assert status == 1
    names = failed(lines)
    assert "file archive/evidence.warc.gz" in names
    assert [n for n in names if n.startswith("raw fetch ")], lines
    assert any("fails its WARC-Payload-Digest" in line for line in lines)
    assert lines[-1] == f"{tampered}: {len(names)} of {len(lines) - 1} checks failed"


def test_a_changed_record_is_caught(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tampered = tmp_path / "tampered.wacz"
    rewrite(bundle, tampered, "logs/record.json", lambda data: data.replace(b"Zambia", b"Zambie"))
    status, lines = verify(tampered, capsys)
    assert status == 1
    assert failed(lines) == {"file logs/record.json", "record"}


def test_a_changed_manifest_is_caught(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with zipfile.ZipFile(bundle) as package:
        manifest = json.loads(package.read("datapackage.json"))
    entry = next(r for r in manifest["resources"] if r["path"] == "logs/history.json")
    old_hash = entry["hash"].encode()
    new_hash = old_hash[:-1] + (b"0" if old_hash[-1:] != b"0" else b"1")
    tampered = tmp_path / "tampered.wacz"
    rewrite(bundle, tampered, "datapackage.json", lambda data: data.replace(old_hash, new_hash))
    status, lines = verify(tampered, capsys)
    assert status == 1
    assert failed(lines) == {"manifest", "file logs/history.json"}


def test_a_signed_bundle_verifies_by_its_key(
    signed: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    signer = keys[0]
    status, lines = verify(signed, capsys, "--key", f"{signer}.pub")
    assert status == 0, lines
    assert any(line.startswith("ok: signature: Ed25519, by key ") for line in lines)
    assert wacz_main(["validate", "-f", str(signed)]) == 0
    # the private key file names the same public key
    assert verify(signed, capsys, "--key", str(signer))[0] == 0


def test_a_wrong_signer_is_caught(
    signed: Path, bundle: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    status, lines = verify(signed, capsys, "--key", f"{keys[1]}.pub")
    assert status == 1
    assert failed(lines) == {"signature"}
    assert any("not by the key given" in line for line in lines)
    status, lines = verify(bundle, capsys, "--key", f"{keys[0]}.pub")  # unsigned, key required
    assert status == 1 and failed(lines) == {"signature"}


def test_a_changed_signature_is_caught(
    signed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    def flip(data: bytes) -> bytes:
        digest = json.loads(data)
        value = digest["wirearchiveSignature"]["signature"]
        digest["wirearchiveSignature"]["signature"] = ("B" if value[0] == "A" else "A") + value[1:]
        return json.dumps(digest).encode()

    tampered = tmp_path / "tampered.wacz"
    rewrite(signed, tampered, "datapackage-digest.json", flip)
    status, lines = verify(tampered, capsys)
    assert status == 1 and failed(lines) == {"signature"}


def test_a_resigned_manifest_without_the_key_is_caught(
    signed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A forger who changes the record and writes the manifest and its digest anew, without
    the key, is caught by the signature (and by the record's own hash)."""
    import hashlib

    with zipfile.ZipFile(signed) as package:
        files = {info.filename: package.read(info) for info in package.infolist()}
    files["logs/record.json"] = files["logs/record.json"].replace(b"Zambia", b"Zambie")
    manifest = json.loads(files["datapackage.json"])
    for resource in manifest["resources"]:
        data = files[resource["path"]]
        resource["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
        resource["bytes"] = len(data)
    files["datapackage.json"] = json.dumps(manifest).encode()
    digest = json.loads(files["datapackage-digest.json"])
    digest["hash"] = "sha256:" + hashlib.sha256(files["datapackage.json"]).hexdigest()
    files["datapackage-digest.json"] = json.dumps(digest).encode()
    forged = tmp_path / "forged.wacz"
    with zipfile.ZipFile(forged, "w") as package:
        for name, data in files.items():
            package.writestr(name, data)
    status, lines = verify(forged, capsys)
    assert status == 1
    assert failed(lines) == {"signature", "record"}


@pytest.mark.parametrize(
    "pasted",
    [
        ZAMBIA,
        ZAMBIA.replace("https://", "http://"),
        ZAMBIA + "?utm_source=twitter&utm_medium=social",
        ZAMBIA + "#comments",
        ZAMBIA.replace("sputnikglobe.com", "SputnikGlobe.COM"),
        ZAMBIA + "/",
        ZAMBIA.removeprefix("https://"),
        f" {ZAMBIA_ID} ",
    ],
)
def test_the_url_forms_a_user_pastes(history: Path, pasted: str) -> None:
    with Store(history) as store:
        expected = next(store.db.query("SELECT id FROM articles WHERE url = ?", [ZAMBIA]))["id"]
        assert find_article(store.db.conn, pasted) == expected


def test_an_unknown_article_is_a_one_line_error(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "none.wacz"
    for unknown in ("https://sputnikglobe.com/20230201/nothing-1.html", "999"):
        assert store_main(["evidence", str(history), unknown, "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: no article in ") and err.count("\n") == 1
    assert not out.exists()


def test_a_file_that_is_no_bundle_is_a_one_line_error(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    text = tmp_path / "notes.wacz"
    text.write_text("not a zip")
    export = tmp_path / "export.wacz"
    assert store_main(["export", str(history), "--format", "wacz", "-o", str(export)]) == 0
    for path in (text, export, tmp_path / "missing.wacz"):
        capsys.readouterr()
        assert store_main(["verify", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


def test_verify_needs_nothing_but_the_bundle(bundle: Path, tmp_path: Path) -> None:
    """The checks read the bundle alone: a copy elsewhere, no store, verifies."""
    copy = tmp_path / "elsewhere.wacz"
    copy.write_bytes(bundle.read_bytes())
    checks = verify_bundle(copy)
    assert all(check.ok is not False for check in checks)


def test_keygen_never_overwrites(keys: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    before = keys[0].read_bytes()
    assert store_main(["keygen", str(keys[0])]) == 2
    assert "not overwritten" in capsys.readouterr().err
    assert keys[0].read_bytes() == before
    assert keys[0].stat().st_mode & 0o077 == 0  # the private key: its owner's only
