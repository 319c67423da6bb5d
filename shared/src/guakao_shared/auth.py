"""Authentication, the FastAPI side of `guakao_shared.identity`: RS256 bearer JWTs verified
against the identity provider's JWKS (issuer, audience and expiry checked, algorithm pinned).
A token grants its roles and no more.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from guakao_shared.devkeys import DEV_ISSUER, DEV_KID, dev_private_key_pem
from guakao_shared.identity import Principal, Role
from guakao_shared.problems import ProblemError


class JwksCache:
    """The identity provider's signing keys, fetched from its JWKS URL and cached.

    An unknown `kid` triggers a refresh (at most every 30 s), so key rotation needs no restart.
    `file:` URLs are read too: that is how services find the development key locally.
    """

    TTL_S = 300.0
    MIN_REFRESH_S = 30.0

    def __init__(self, url: str) -> None:
        if not url.startswith(("https://", "http://", "file:")):
            raise ValueError(
                f"unsupported JWKS URL {url!r}: use https:// (or file: in development)"
            )
        self._url = url
        self._keys: dict[str | None, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> Any:
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > self.TTL_S:
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                if age > self.TTL_S or (kid not in self._keys and age > self.MIN_REFRESH_S):
                    await self._refresh()
        if kid not in self._keys:
            raise jwt.InvalidKeyError(f"no signing key with kid {kid!r} in the JWKS")
        return self._keys[kid]

    async def _refresh(self) -> None:
        if self._url.startswith("file:"):
            from urllib.parse import urlparse
            from urllib.request import url2pathname

            path = Path(url2pathname(urlparse(self._url).path))
            data = json.loads(await asyncio.to_thread(path.read_text))
        else:
            import httpx

            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                data = response.json()
        keys: dict[str | None, Any] = {}
        for jwk in jwt.PyJWKSet.from_dict(data).keys:
            if jwk.key_type == "RSA":
                keys[jwk.key_id] = jwk.key
        self._keys, self._fetched_at = keys, time.monotonic()


class JwtVerifier:
    """Verifies bearer tokens. The JWKS is fetched (blocking I/O) off the event loop and cached."""

    ALGORITHMS = ("RS256",)

    def __init__(self, jwks_url: str, *, issuer: str, audience: str) -> None:
        self._jwks = JwksCache(jwks_url)
        self._issuer, self._audience = issuer, audience

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in self.ALGORITHMS:
                raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not allowed")
            signing_key = await self._jwks.key(header.get("kid"))
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=list(self.ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise ProblemError(
                401,
                "Unauthorized",
                f"invalid bearer token: {exc}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ProblemError(401, "Unauthorized", "invalid bearer token: roles must be a list")
        known = {r.value for r in Role}
        return Principal(
            sub=claims["sub"],
            department=claims.get("dept"),
            roles=frozenset(r for r in roles if r in known),
            name=claims.get("name"),
            claims=claims,
        )


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(
            401,
            "Unauthorized",
            "a bearer token is required (Authorization: Bearer <jwt>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verified = getattr(request.state, "principal", None)  # by the RequestGuard, on headers
    if isinstance(verified, Principal):
        return verified
    verifier: JwtVerifier = request.app.state.jwt_verifier
    return await verifier.verify(credentials.credentials)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def issue_dev_token(
    sub: str,
    roles: list[str],
    department: str | None = None,
    *,
    audience: str = "guakao",
    ttl_s: int = 3600,
    name: str | None = None,
) -> str:
    """A token signed with the development key (local use and tests only)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": audience,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "roles": roles,
    }
    if department:
        claims["dept"] = department
    if name:
        claims["name"] = name
    return jwt.encode(claims, dev_private_key_pem(), algorithm="RS256", headers={"kid": DEV_KID})
