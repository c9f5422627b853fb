"""Callers are identified by signed bearer tokens (JWT, HS256, via PyJWT).

A token names the user (`sub`), the organisation (`org`) and its role (`role`).
For local use, mint one with:  make token ARGS="--org RX1 --role provider --user alice"
"""

import argparse
import functools
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated

import jwt
from fastapi import Depends, Request

from services.common.problems import Problem
from services.common.settings import Settings

ALGORITHM = "HS256"
ISSUER = "treatment-journeys"


class Role(Enum):
    PROVIDER = "provider"
    CJIT = "cjit"
    CARAT = "carat"
    COMMISSIONER = "commissioner"
    ADMINISTRATOR = "administrator"
    SERVICE = "service"


@dataclass(frozen=True)
class Caller:
    user: str
    organisation: str
    role: Role


def auth_secret(settings: Settings) -> str:
    """The signing key: configured, or generated once into the data folder for local use."""
    if settings.auth_secret:
        return settings.auth_secret
    path = settings.data_dir / "auth-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def mint_token(secret: str, caller: Caller, lifetime: timedelta = timedelta(hours=12)) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": caller.user,
        "org": caller.organisation,
        "role": caller.role.value,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorised(detail: str) -> Problem:
    problem = Problem(401, "unauthenticated", "Not authenticated", detail)
    problem.headers = {"WWW-Authenticate": "Bearer"}
    return problem


def read_token(secret: str, token: str) -> Caller:
    caller, expires = _verified(secret, token)
    if time.time() >= expires:
        _verified.cache_clear()
        raise _unauthorised("The bearer token has expired; get a new one.")
    return caller


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Caller, float]:
    """Signature checks are deterministic, so a token verified once need not be again; its
    expiry is still checked on every request by read_token."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        caller = Caller(user=claims["sub"], organisation=claims["org"], role=Role(claims["role"]))
        return caller, float(claims["exp"])
    except jwt.ExpiredSignatureError:
        raise _unauthorised("The bearer token has expired; get a new one.") from None
    except (jwt.InvalidTokenError, KeyError, ValueError):
        raise _unauthorised("The bearer token is not valid.") from None


def current_caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorised(
            "Send 'Authorization: Bearer <token>'; see the README for getting a local token."
        )
    secret: str = request.app.state.auth_secret
    return read_token(secret, token.strip())


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mint a bearer token for local use.")
    parser.add_argument("--org", required=True, help="organisation code, e.g. RX1")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--user", required=True, help="the user acting, e.g. alice")
    parser.add_argument("--hours", type=float, default=12.0)
    args = parser.parse_args(argv)
    settings = Settings()
    caller = Caller(user=args.user, organisation=args.org, role=Role(args.role))
    token = mint_token(auth_secret(settings), caller, timedelta(hours=args.hours))
    sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
