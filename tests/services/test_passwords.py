"""Password hashing: salted scrypt from the standard library, parameters stored per hash."""

from __future__ import annotations

import base64
import hashlib

import pytest

from moviecli.services.passwords import hash_password, verify_password


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password("correct-horse-1")


def test_hash_format_and_parameters(stored):
    scheme, n, r, p, salt, digest = stored.split("$")
    assert scheme == "scrypt"
    assert (int(n), int(r), int(p)) == (2**15, 8, 1)
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 64
    assert "correct-horse-1" not in stored


def test_the_digest_is_scrypt_of_the_password_and_salt(stored):
    _, n, r, p, salt, digest = stored.split("$")
    expected = hashlib.scrypt(
        b"correct-horse-1",
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=64 * 1024 * 1024,
    )
    assert base64.b64decode(digest) == expected


def test_verify(stored):
    assert verify_password("correct-horse-1", stored) is True
    assert verify_password("correct-horse-2", stored) is False
    assert verify_password("", stored) is False
    assert verify_password("CORRECT-HORSE-1", stored) is False


def test_same_password_different_salts():
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert verify_password("same password", first)
    assert verify_password("same password", second)


def test_unicode_password():
    stored = hash_password("pässwörd-日本語")
    assert verify_password("pässwörd-日本語", stored)
    assert not verify_password("passwörd-日本語", stored)


def test_parameters_are_read_from_the_hash():
    # A hash made with other (cheaper) parameters still verifies: they can be raised later.
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"old-password", salt=salt, n=2**10, r=8, p=1, dklen=32)
    stored = "$".join(
        [
            "scrypt",
            "1024",
            "8",
            "1",
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )
    assert verify_password("old-password", stored)
    assert not verify_password("new-password", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        "pbkdf2$1$2$3$c2FsdA==$ZGlnZXN0",
        "scrypt$notanumber$8$1$c2FsdA==$ZGlnZXN0",
        "scrypt$32768$8$1$!!!$ZGlnZXN0",
        "scrypt$3$8$1$c2FsdA==$ZGlnZXN0",  # n must be a power of two
        "scrypt$32768$8$1$c2FsdA==",
    ],
)
def test_malformed_hashes_never_verify(stored):
    assert verify_password("plain-text-password", stored) is False
