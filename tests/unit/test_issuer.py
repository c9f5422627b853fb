"""The development issuer: one key however many processes race to create it, service tokens
renewed before they expire, and `make token`'s tokens accepted by the services' verifier."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import jwt
import pytest

from services.common import issuer
from services.common.auth import Caller, FileKeys, Role, TokenVerifier
from services.common.issuer import (
    RenewingToken,
    TokenFile,
    load_or_create_key,
    public_jwk,
    service_token,
)
from services.common.settings import DEFAULT_ISSUER, Settings
from tests.support import ROOT, TEST_ISSUER

SERVICE = Caller("journey-follower", "journey-service", Role.SERVICE)


def assert_one_private_key(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_threads_racing_to_create_the_key_all_get_the_same_one(tmp_path: Path) -> None:
    path, kids, start = tmp_path / "data" / "issuer-key.pem", [], threading.Barrier(8)

    def create() -> None:
        start.wait()
        kids.append(public_jwk(load_or_create_key(path))["kid"])

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 8 and len(set(kids)) == 1
    assert_one_private_key(path)


def test_processes_racing_to_create_the_key_all_get_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / "issuer-key.pem"
    script = (
        "import sys; from pathlib import Path;"
        "from services.common.issuer import load_or_create_key, public_jwk;"
        "print(public_jwk(load_or_create_key(Path(sys.argv[1])))['kid'])"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(4)
    ]
    kids = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(kids) == 1 and all(process.returncode == 0 for process in processes)
    assert_one_private_key(path)


def test_service_tokens_are_renewed_when_a_third_of_their_life_remains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(issuer.time, "time", lambda: now[0])
    provider = RenewingToken(TEST_ISSUER, SERVICE, ["treatment-journeys/referral"], 60)
    first = provider()
    now[0] += 39
    assert provider() == first
    now[0] += 2  # 41 s old: less than 20 s of its 60 left
    assert provider() != first


def test_service_tokens_from_the_dev_issuer_are_accepted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, service_token_lifetime_seconds=600)
    provider = service_token(settings, "journey-follower", "journey-service", ["aud/x"])
    verifier = TokenVerifier(FileKeys(tmp_path / "jwks.json"), DEFAULT_ISSUER, "aud/x", 600)
    assert verifier.read(provider()) == SERVICE
    claims = jwt.decode(provider(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600


def test_a_service_token_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "service-token"
    path.write_text("first\n")
    provider = TokenFile(path)
    assert provider() == "first"
    renewed = tmp_path / "renewed"
    renewed.write_text("second\n")
    os.replace(renewed, path)  # as a platform renews it: in one step
    assert provider() == "second"


def test_with_an_identity_provider_followers_need_a_token_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwks_url="https://idp.example/jwks")
    with pytest.raises(RuntimeError, match="TJ_SERVICE_TOKEN_FILE"):
        service_token(settings, "journey-follower", "journey-service", ["aud"])
    assert not (tmp_path / "issuer-key.pem").exists()  # no signing key made in production
    path = tmp_path / "token"
    path.write_text("from-the-platform")
    with_file = Settings(
        data_dir=tmp_path, jwks_url="https://idp.example/jwks", service_token_file=path
    )
    assert service_token(with_file, "journey-follower", "journey-service", ["aud"])() == (
        "from-the-platform"
    )


def test_make_token_mints_for_every_service_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TJ_DATA_DIR", str(tmp_path))
    issuer.main(["--org", "RX1", "--role", "provider", "--user", "alice", "--minutes", "5"])
    token = capsys.readouterr().out.strip()
    keys, alice = FileKeys(tmp_path / "jwks.json"), Caller("alice", "RX1", Role.PROVIDER)
    for service in ("referral", "journey", "reporting"):
        audience = Settings(data_dir=tmp_path).audience(service)
        assert TokenVerifier(keys, DEFAULT_ISSUER, audience, 3600).read(token) == alice

    issuer.main(["--org", "RX1", "--role", "provider", "--user", "alice", "--audience", "a/b"])
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["aud"] == ["a/b"] and claims["exp"] - claims["iat"] == 3600
    assert_one_private_key_beside_jwks(tmp_path)


def assert_one_private_key_beside_jwks(data: Path) -> None:
    assert sorted(p.name for p in data.iterdir()) == ["issuer-key.pem", "jwks.json"]
    assert stat.S_IMODE((data / "issuer-key.pem").stat().st_mode) == 0o600
    assert "BEGIN" not in (data / "jwks.json").read_text()  # public keys only
