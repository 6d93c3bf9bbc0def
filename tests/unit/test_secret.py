"""The installation secret: created once, private, never overwritten, refused when unsafe."""

import os
import stat

import pytest

from asteriskbill.errors import UserError
from asteriskbill.services.secret import installation_secret


def test_created_on_first_need_then_kept(tmp_path):
    path = tmp_path / "deep" / "secret"
    with pytest.raises(UserError, match="does not exist: without it no PIN can be checked"):
        installation_secret(path)
    secret = installation_secret(path, create=True)
    assert len(secret) == 64 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert installation_secret(path, create=True) == secret == installation_secret(path)
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary file left


def test_unsafe_secrets_refused(tmp_path):
    path = tmp_path / "secret"
    path.write_text("short")
    path.chmod(0o600)
    with pytest.raises(UserError, match="shorter than 32 bytes"):
        installation_secret(path)
    path.chmod(0o640)
    with pytest.raises(UserError, match="readable by others: chmod 600"):
        installation_secret(path)
    with pytest.raises(UserError, match=r"cannot read installation secret .*: Not a directory"):
        installation_secret(tmp_path / "secret" / "inside-a-file", create=True)


def test_kept_in_memory_only_while_the_file_is_unchanged(tmp_path):
    path = tmp_path / "secret"
    path.write_text("a" * 40)
    path.chmod(0o600)
    assert installation_secret(path) == b"a" * 40
    path.write_text("b" * 48)  # restored from another backup: read again
    assert installation_secret(path) == b"b" * 48
    path.chmod(0o644)  # the check of its mode is made on every call, read or not
    with pytest.raises(UserError, match="readable by others"):
        installation_secret(path)
