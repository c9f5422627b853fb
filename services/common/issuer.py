"""The development issuer, and the tokens our followers present to the feeds they read.

With no identity provider configured (no TJ_JWKS_URL / TJ_JWKS_FILE), an ES256 key pair in the
data folder stands in for one: the private key `issuer-key.pem` (mode 0600) and its public JWKS
`jwks.json`, which is all the services verify with. Only this module reads the private key: for
`make token ARGS="--org RX1 --role provider --user alice"` and the followers' service tokens.

With an identity provider, the followers read their token from TJ_SERVICE_TOKEN_FILE, which
the platform keeps fresh; no service holds a production signing key.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.common.auth import ALGORITHM, Caller, Role
from services.common.follower import TokenProvider
from services.common.settings import Settings


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in `path`, created first if absent. Processes racing to create it all end up
    with the one key that won: it is written whole to a private temporary file, then linked
    into place, which fails if another process got there first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".issuer-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"):
        raise ValueError(f"{path} does not hold a P-256 (ES256) private key")
    return key


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    # RFC 7638 thumbprint: the same key always gets the same kid, whichever process derives it.
    members = json.dumps({m: jwk[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=")
    return {**jwk, "kid": kid.decode(), "alg": ALGORITHM, "use": "sig"}


def write_jwks(path: Path, keys: Sequence[ec.EllipticCurvePrivateKey]) -> None:
    """Publish the keys' public halves; replaced in one step, so readers never see half."""
    text = json.dumps({"keys": [public_jwk(key) for key in keys]}, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".jwks-")
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


class Issuer:
    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str) -> None:
        self.key, self.issuer, self.kid = key, issuer, public_jwk(key)["kid"]

    def mint(self, caller: Caller, audiences: Sequence[str], lifetime: timedelta) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "aud": list(audiences),
            "sub": caller.user,
            "org": caller.organisation,
            "role": caller.role.value,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})


def dev_issuer(settings: Settings) -> Issuer:
    """The development issuer (its key created on first use); with no identity provider
    configured, its public JWKS is published beside it for the services to verify with."""
    key = load_or_create_key(settings.issuer_key_file or settings.data_dir / "issuer-key.pem")
    if settings.local_identity:
        write_jwks(settings.data_dir / "jwks.json", [key])
    return Issuer(key, settings.issuer)


class RenewingToken:
    """A service token from the development issuer, renewed when a third of its life remains."""

    def __init__(
        self, issuer: Issuer, caller: Caller, audiences: Sequence[str], lifetime: float
    ) -> None:
        self.issuer, self.caller, self.audiences = issuer, caller, list(audiences)
        self.lifetime = lifetime
        self._token, self._renew_at = "", 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            now = time.time()
            if now >= self._renew_at:
                lifetime = timedelta(seconds=self.lifetime)
                self._token = self.issuer.mint(self.caller, self.audiences, lifetime)
                self._renew_at = now + self.lifetime * 2 / 3
            return self._token


class TokenFile:
    """A service token the platform keeps fresh in a file, read again whenever it changes
    (the platform should replace the file in one step, e.g. by rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""

    def __call__(self) -> str:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            self._token, self._stamp = self.path.read_text().strip(), stamp
        return self._token


def service_token(
    settings: Settings, user: str, organisation: str, audiences: Sequence[str]
) -> TokenProvider:
    """What a follower presents: TJ_SERVICE_TOKEN_FILE when set, otherwise tokens from the
    development issuer (only on the embedded default, or when TJ_ISSUER_KEY_FILE names its key)."""
    if settings.service_token_file is not None:
        return TokenFile(settings.service_token_file)
    if not settings.local_identity and settings.issuer_key_file is None:
        raise RuntimeError(
            "An identity provider is configured (TJ_JWKS_URL or TJ_JWKS_FILE): set "
            "TJ_SERVICE_TOKEN_FILE to the followers' service token, kept fresh by the platform."
        )
    lifetime = min(settings.service_token_lifetime_seconds, settings.max_token_lifetime_seconds)
    caller = Caller(user, organisation, Role.SERVICE)
    return RenewingToken(dev_issuer(settings), caller, audiences, lifetime)


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(description="Mint a bearer token from the development issuer.")
    parser.add_argument("--org", required=True, help="organisation code, e.g. RX1")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--user", required=True, help="the user acting, e.g. alice")
    parser.add_argument(
        "--audience",
        action="append",
        help="a service's audience (repeatable); default: all three services",
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="lifetime (default 60)")
    args = parser.parse_args(argv)
    caller = Caller(user=args.user, organisation=args.org, role=Role(args.role))
    audiences = args.audience or settings.audiences()
    token = dev_issuer(settings).mint(caller, audiences, timedelta(minutes=args.minutes))
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
