"""Ed25519 signatures of an evidence bundle's digest, with a key kept in a local file.

``python -m store keygen KEYFILE`` writes a private key (PEM, PKCS #8, unencrypted, readable by
its owner only) to ``KEYFILE`` and its public key (PEM) to ``KEYFILE.pub``; ``evidence --sign
KEYFILE`` signs a bundle with it, and ``verify --key KEYFILE.pub`` requires that signer. The
keys, signatures and their checks are the ``cryptography`` package's; a bundle's signature
names the public key that made it (raw, base64) so it can be checked without the key file.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class KeyFileError(ValueError):
    """A key file that cannot be read as an Ed25519 key."""


def public_path(path: Path) -> Path:
    """Where :func:`generate_key` writes the public key of the private key at ``path``."""
    return path.with_name(path.name + ".pub")


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The key's 32 bytes."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(path: Path) -> Ed25519PublicKey:
    """Write a new private key to ``path`` (never over an existing file) and its public key
    to ``path.pub``; the public key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    public = key.public_key()
    public_path(path).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public


def load_private(path: Path) -> Ed25519PrivateKey:
    """The private key in a PEM file; :class:`KeyFileError` when it is not an Ed25519 one."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key ({error})") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The public key in a PEM file (or of the private key in one)."""
    data = path.read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        key = load_private(path).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> dict[str, str]:
    """The signature of ``message`` as a bundle keeps it: algorithm, public key, signature."""
    return {
        "algorithm": ALGORITHM,
        "publicKey": base64.b64encode(raw_public(key.public_key())).decode("ascii"),
        "signature": base64.b64encode(key.sign(message)).decode("ascii"),
    }


def check(signature: Any, message: bytes, required: Ed25519PublicKey | None = None) -> str:
    """Check a signature :func:`sign` made over ``message`` (by ``required``'s key, if given).

    Returns the signer's fingerprint; raises :class:`ValueError` saying what is wrong."""
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        raise ValueError(f"not an {ALGORITHM} signature: {signature!r:.80}")
    try:
        raw = base64.b64decode(signature["publicKey"], validate=True)
        value = base64.b64decode(signature["signature"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"the signature's key or value cannot be read ({error})") from error
    if required is not None and raw_public(required) != raw:
        raise ValueError(
            f"signed by key {fingerprint(raw)}, not by the key given "
            f"({fingerprint(raw_public(required))})"
        )
    try:
        public.verify(value, message)
    except InvalidSignature:
        raise ValueError(f"the signature by key {fingerprint(raw)} does not match") from None
    return fingerprint(raw)
