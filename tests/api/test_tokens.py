"""Trying to get past the token rules: every forged, misdirected, over-long, malformed or expired
token is a 401 problem+json, never a 500, and keys rotate without a restart."""

import base64
import hashlib
import hmac
import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from services.common.auth import Caller, Role, TokenVerifier, UrlKeys
from services.common.issuer import Issuer, public_jwk, write_jwks
from services.common.problems import Problem
from services.common.settings import Settings
from tests.support import (
    AUDIENCES,
    ISSUER_KEY_FILE,
    JWKS_FILE,
    TEST_ISSUER,
    token,
    wait_until,
)

ALICE = Caller("alice", "ORG1", Role.PROVIDER)


@pytest.fixture
def jwks(tmp_path: Path) -> Path:
    """A JWKS file of this test's own, so that it can rotate keys in it."""
    path = tmp_path / "keys" / "jwks.json"
    path.parent.mkdir()
    shutil.copy(JWKS_FILE, path)
    return path


@pytest.fixture
def referral(tmp_path: Path, jwks: Path) -> Iterator[TestClient]:
    from services.referral.main import create_app

    app = create_app(Settings(data_dir=tmp_path, jwks_file=jwks, issuer_key_file=ISSUER_KEY_FILE))
    yield TestClient(app)
    app.state.application.close()


def get(api: TestClient, bearer: str) -> httpx.Response:
    return api.get("/feed", headers={"Authorization": f"Bearer {bearer}"})


def refused(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    return str(response.json()["detail"])


def claims(**override: Any) -> dict[str, Any]:
    """A valid token's claims, with some replaced (None: left out)."""
    now = int(time.time())
    base = {
        "iss": TEST_ISSUER.issuer,
        "aud": AUDIENCES,
        "sub": "alice",
        "org": "ORG1",
        "role": "provider",
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **override}.items() if v is not None}


def signed(body: dict[str, Any], key: Any = None, kid: str | None = TEST_ISSUER.kid) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(body, key or TEST_ISSUER.key, algorithm="ES256", headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mac(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()


def hand_made(alg: str, body: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT would refuse to make: alg none, or HMAC keyed with our public key."""
    header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": TEST_ISSUER.kid}).encode())
    signing_input = f"{header}.{b64(json.dumps(body).encode())}"
    signature = (
        b"" if secret is None else hmac.new(secret, signing_input.encode(), "sha256").digest()
    )
    return f"{signing_input}.{b64(signature)}"


def test_a_valid_token_is_accepted(referral: TestClient) -> None:
    assert get(referral, token()).status_code == 200
    assert get(referral, signed(claims())).status_code == 200
    # aud may be the service's own audience alone
    assert get(referral, signed(claims(aud="treatment-journeys/referral"))).status_code == 200


OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
P384_KEY = ec.generate_private_key(ec.SECP384R1())
YEAR_3000 = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(signed(claims(), key=OTHER_KEY), id="another key, same kid"),
        pytest.param(signed(claims(aud="treatment-journeys/journey")), id="wrong audience"),
        pytest.param(signed(claims(aud=None)), id="no audience"),
        pytest.param(signed(claims(iss="https://evil.example")), id="wrong issuer"),
        pytest.param(signed(claims(iss=None)), id="no issuer"),
        pytest.param(signed(claims(exp=None)), id="no expiry"),
        pytest.param(signed(claims(iat=None)), id="no issued-at"),
        pytest.param(signed(claims(exp=YEAR_3000)), id="expires in the year 3000"),
        pytest.param(signed(claims(exp=int(time.time()) + 13 * 3600)), id="lives 13 hours"),
        pytest.param(signed(claims(iat=int(time.time()) + 3600)), id="issued in the future"),
        pytest.param(signed(claims(exp="tomorrow")), id="exp a string"),
        pytest.param(signed(claims(exp=10**400)), id="exp beyond any float"),
        pytest.param(signed(claims(iat=[1])), id="iat a list"),
        pytest.param(signed(claims(org=["ORG1"])), id="org a list"),
        pytest.param(signed(claims(org="")), id="org empty"),
        pytest.param(signed(claims(org="ORG1' OR 1=1")), id="org not a code"),
        pytest.param(signed(claims(org=None)), id="no org"),
        pytest.param(signed(claims(role="superuser")), id="role unknown"),
        pytest.param(signed(claims(role=["provider"])), id="role a list"),
        pytest.param(signed(claims(sub=42)), id="sub an int"),
        pytest.param(signed(claims(sub="")), id="sub empty"),
        pytest.param(signed(claims(sub=None)), id="no sub"),
        pytest.param(hand_made("none", claims(), None), id="alg none"),
        pytest.param(hand_made("HS256", claims(), JWKS_FILE.read_bytes()), id="HS256, JWKS"),
        pytest.param(signed(claims(), kid="no-such-key"), id="kid unknown"),
        pytest.param(signed(claims(), kid=None), id="no kid"),
        pytest.param(
            jwt.encode(claims(), P384_KEY, algorithm="ES384", headers={"kid": TEST_ISSUER.kid}),
            id="ES384",
        ),
        pytest.param("not.a.token", id="garbage"),
        pytest.param("e30.e30.", id="empty header and body"),
    ],
)
def test_broken_tokens_are_401_never_500(referral: TestClient, bearer: str) -> None:
    refused(get(referral, bearer))


def test_hs256_signed_with_the_public_key_pem_is_refused(referral: TestClient) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = TEST_ISSUER.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert "ES256" in refused(get(referral, hand_made("HS256", claims(), pem)))


def test_expired_tokens_are_refused_even_when_verified_before(referral: TestClient) -> None:
    expired_long_ago = signed(claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    assert "expired" in refused(get(referral, expired_long_ago))
    brief = token(lifetime=timedelta(seconds=1))
    assert get(referral, brief).status_code == 200  # verified and remembered
    detail = wait_until(
        lambda: get(referral, brief).status_code == 401 and refused(get(referral, brief))
    )
    assert "expired" in detail


def test_keys_rotate_without_a_restart(referral: TestClient, jwks: Path) -> None:
    new = Issuer(ec.generate_private_key(ec.SECP256R1()), TEST_ISSUER.issuer)
    old_token, new_token = token(), new.mint(ALICE, AUDIENCES, timedelta(minutes=5))
    assert get(referral, old_token).status_code == 200
    refused(get(referral, new_token))

    write_jwks(jwks, [TEST_ISSUER.key, new.key])  # the new key published beside the old
    assert get(referral, new_token).status_code == 200
    assert get(referral, old_token).status_code == 200

    write_jwks(jwks, [new.key])  # the old key withdrawn: its tokens fail, even cached ones
    assert get(referral, new_token).status_code == 200
    assert "no key" in refused(get(referral, old_token))


def test_a_broken_jwks_file_keeps_the_last_good_keys(referral: TestClient, jwks: Path) -> None:
    jwks.write_text('{"keys": [')
    assert get(referral, token()).status_code == 200
    jwks.unlink()
    assert get(referral, token()).status_code == 200


def test_a_symmetric_key_in_the_jwks_is_never_used(referral: TestClient, jwks: Path) -> None:
    secret = b"published-by-mistake-" + bytes(16)
    oct_key = {"kty": "oct", "kid": "oops", "alg": "HS256", "k": b64(secret)}
    document = json.loads(jwks.read_text())
    jwks.write_text(json.dumps({"keys": [*document["keys"], oct_key]}))
    header = b64(json.dumps({"alg": "ES256", "kid": "oops"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims()).encode())}"
    forged = (
        f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )
    refused(get(referral, forged))


def test_keys_from_a_jwks_url_are_chosen_by_kid_and_fetched_again_for_a_new_one() -> None:
    served = {"keys": [public_jwk(TEST_ISSUER.key)]}

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        verifier = TokenVerifier(UrlKeys(url, cooldown=0), TEST_ISSUER.issuer, AUDIENCES[0], 3600)
        assert verifier.read(token()) == ALICE
        new = Issuer(ec.generate_private_key(ec.SECP256R1()), TEST_ISSUER.issuer)
        new_token = new.mint(ALICE, AUDIENCES, timedelta(minutes=5))
        with pytest.raises(Problem) as refused_before:
            verifier.read(new_token)
        assert refused_before.value.status == 401
        served["keys"].append(public_jwk(new.key))
        assert verifier.read(new_token) == ALICE  # an unknown kid fetches the JWKS again
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(Problem) as unreachable:  # the provider down: 503, not "bad token"
        TokenVerifier(UrlKeys(url), TEST_ISSUER.issuer, AUDIENCES[0], 3600).read(token())
    assert unreachable.value.status == 503
