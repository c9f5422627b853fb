"""Callers are identified by bearer tokens (JWT, ES256) from an identity provider.

A token names the user (`sub`), the organisation (`org`) and its role (`role`). The services
hold only public keys: a JWKS document from `TJ_JWKS_URL` or `TJ_JWKS_FILE` (on the embedded
default, the development issuer's `data/jwks.json`), each key chosen by the token's `kid` and
re-read when the document changes, so keys rotate without a restart. No service can mint a
token another service accepts. For local use, mint one with `make token` (services.common.issuer).
"""

import functools
import logging
import os
import re
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request

from services.common.problems import Problem
from services.common.settings import Settings

ALGORITHM = "ES256"
# Clock skew between us and the identity provider tolerated on `iat`; expiry is checked exactly.
LEEWAY_SECONDS = 30
ORGANISATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:|+-]{0,254}")

log = logging.getLogger(__name__)


class Role(Enum):
    PROVIDER = "provider"
    CJIT = "cjit"
    CARAT = "carat"
    COMMISSIONER = "commissioner"
    ADMINISTRATOR = "administrator"
    SERVICE = "service"


ROLES = {role.value for role in Role}


@dataclass(frozen=True)
class Caller:
    user: str
    organisation: str
    role: Role


class KeySource(Protocol):
    def current(self) -> jwt.PyJWKSet: ...

    def find(self, kid: str) -> jwt.PyJWK:
        """The key named `kid`, looking again at the source if it is not in current(); KeyError."""


class FileKeys:
    """A JWKS document in a file, re-read whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._state: tuple[tuple[int, int, int], jwt.PyJWKSet] | None = None
        self.current()  # a missing or broken file fails at start-up, not at the first request

    def current(self) -> jwt.PyJWKSet:
        state = self._state
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if state is not None and state[0] == stamp:
                return state[1]
            keys = jwt.PyJWKSet.from_json(self.path.read_text())
        except (OSError, ValueError, jwt.PyJWTError) as error:
            if state is None:
                raise
            # Half-written or removed for a moment: keep the last good keys, look again next time.
            log.warning("cannot read JWKS file %s (%s); keeping the last keys", self.path, error)
            return state[1]
        self._state = (stamp, keys)
        return keys

    def find(self, kid: str) -> jwt.PyJWK:
        return self.current()[kid]


class UrlKeys:
    """A JWKS document served by the identity provider, cached for five minutes and fetched
    again at once (at most every 30 s) when a token names a key it does not hold."""

    def __init__(self, url: str, cooldown: float = 30) -> None:
        self._client = jwt.PyJWKClient(url, lifespan=300, timeout=5, cooldown_duration=cooldown)

    def current(self) -> jwt.PyJWKSet:
        return self._client.get_jwk_set()

    def find(self, kid: str) -> jwt.PyJWK:
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise
        except jwt.PyJWKClientError:
            raise KeyError(kid) from None


def key_source(settings: Settings) -> KeySource:
    if settings.jwks_url:
        return UrlKeys(settings.jwks_url)
    return FileKeys(settings.jwks_file or settings.data_dir / "jwks.json")


def _unauthorised(detail: str) -> Problem:
    problem = Problem(401, "unauthenticated", "Not authenticated", detail)
    problem.headers = {"WWW-Authenticate": "Bearer"}
    return problem


def _unavailable(error: Exception) -> Problem:
    problem = Problem(503, "identity-provider-unavailable", "Cannot check tokens", str(error))
    problem.headers = {"Retry-After": "5"}
    return problem


class TokenVerifier:
    def __init__(self, keys: KeySource, issuer: str, audience: str, max_lifetime: float) -> None:
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.max_lifetime = max_lifetime
        # A token verified once against a key set need not be again (the signature and claims
        # do not change); a changed key set is a new cache key, so a removed key's tokens fail.
        self._verified = functools.lru_cache(maxsize=4096)(self._verify)

    def read(self, token: str) -> Caller:
        return self.read_with_expiry(token)[0]

    def read_with_expiry(self, token: str) -> tuple[Caller, float]:
        """The caller and the token's expiry (seconds since the epoch), verified as read()."""
        try:
            keys = self.keys.current()
        except jwt.PyJWKClientConnectionError as error:
            raise _unavailable(error) from None
        caller, expires = self._verified(keys, token)
        if time.time() >= expires:
            raise _unauthorised("The bearer token has expired; get a new one.")
        return caller, expires

    def _verify(self, keys: jwt.PyJWKSet, token: str) -> tuple[Caller, float]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise jwt.InvalidAlgorithmError(f"tokens must be signed with {ALGORITHM}")
            key = self._key(keys, header.get("kid"))
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "sub", "iat", "exp"]},
            )
            self._check_lifetime(claims)
            return _caller(claims), float(claims["exp"])
        except jwt.PyJWKClientConnectionError as error:
            raise _unavailable(error) from None
        except jwt.PyJWTError as error:
            raise _unauthorised(f"The bearer token is not valid: {error}") from None

    def _key(self, keys: jwt.PyJWKSet, kid: Any) -> jwt.PyJWK:
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the token names no key ('kid')")
        try:
            key = keys[kid]
        except KeyError:
            try:
                key = self.keys.find(kid)
            except KeyError:
                raise jwt.InvalidTokenError(f"no key '{kid}' in the issuer's key set") from None
        if key.algorithm_name != ALGORITHM:  # e.g. a symmetric key published by mistake
            raise jwt.InvalidKeyError(f"key '{kid}' is not an {ALGORITHM} key")
        return key

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        # int(), as PyJWT has checked: exact for any size (float() of 10**400 would be a 500).
        if int(claims["exp"]) - int(claims["iat"]) > self.max_lifetime:
            raise jwt.InvalidTokenError(f"lives longer than {self.max_lifetime:g} s")


def _caller(claims: dict[str, Any]) -> Caller:
    user, organisation, role = claims.get("sub"), claims.get("org"), claims.get("role")
    if not (isinstance(user, str) and USER.fullmatch(user)):
        raise jwt.InvalidTokenError("'sub' must name the user")
    if not (isinstance(organisation, str) and ORGANISATION.fullmatch(organisation)):
        raise jwt.InvalidTokenError("'org' must be one organisation code")
    if not (isinstance(role, str) and role in ROLES):
        raise jwt.InvalidTokenError(f"'role' must be one of {', '.join(r.value for r in Role)}")
    return Caller(user=user, organisation=organisation, role=Role(role))


def token_verifier(settings: Settings, service: str) -> TokenVerifier:
    return TokenVerifier(
        key_source(settings),
        settings.issuer,
        settings.audience(service),
        settings.max_token_lifetime_seconds,
    )


def current_caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorised(
            "Send 'Authorization: Bearer <token>'; see the README for getting a local token."
        )
    verifier: TokenVerifier = request.app.state.verifier
    caller = verifier.read(token.strip())
    request.state.caller = caller  # for the request's log line (services/common/logs.py)
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]
