"""Bearer tokens: a valid RS256 token from our issuer, for our audience, grants its known
roles and no more; anything else is a 401. Missing roles are a 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from guakao_shared.auth import JwtVerifier, issue_dev_token
from guakao_shared.devkeys import DEV_ISSUER, DEV_KID, dev_jwks_url, dev_private_key_pem
from guakao_shared.identity import Principal, Role, require_role
from guakao_shared.problems import ProblemError
from guakao_shared.refusals import STATUS_OF, NotPermitted

AUDIENCE = "guakao"


@pytest.fixture(scope="module", autouse=True)
def dev_key_in_a_temporary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the development key out of the user's real cache directory."""
    cache = tmp_path_factory.mktemp("guakao-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GUAKAO_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture
def verifier() -> JwtVerifier:
    return JwtVerifier(dev_jwks_url(), issuer=DEV_ISSUER, audience=AUDIENCE)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "roles": ["applicant"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed_with_dev_key(claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(
        claims,
        dev_private_key_pem(),
        algorithm="RS256",
        headers={"kid": DEV_KID} if headers is None else headers,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token assembled by hand, as an attacker would (PyJWT refuses to make some of these)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _dev_public_pem() -> bytes:
    private = serialization.load_pem_private_key(dev_private_key_pem(), password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signed_with_another_rsa_key() -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": DEV_KID})


# ---- accepted tokens -------------------------------------------------------------------


async def test_a_valid_token_identifies_the_user_with_roles_and_department(
    verifier: JwtVerifier,
) -> None:
    token = issue_dev_token("alice", ["applicant", "dept_head"], "it", name="Alice")

    principal = await verifier.verify(token)

    assert principal.sub == "alice"
    assert principal.roles == frozenset({"applicant", "dept_head"})
    assert principal.department == "it"
    assert principal.name == "Alice"


async def test_a_token_without_department_or_roles_grants_nothing(verifier: JwtVerifier) -> None:
    principal = await verifier.verify(issue_dev_token("bob", []))

    assert principal.department is None
    assert principal.roles == frozenset()


@pytest.mark.parametrize(
    ("claimed", "granted"),
    [
        (["reviewer", "superuser"], {"reviewer"}),
        (["root", "admin", "*"], set()),
        (["REVIEWER", "reviewer "], set()),
        (["finance", "auditor", "god_mode"], {"finance", "auditor"}),
    ],
)
async def test_a_token_never_grants_more_than_the_known_roles(
    verifier: JwtVerifier, claimed: list[str], granted: set[str]
) -> None:
    principal = await verifier.verify(issue_dev_token("carol", claimed))

    assert principal.roles == granted


# ---- refused tokens --------------------------------------------------------------------

# (why it is refused, how to make such a token, what the refusal says)
REFUSED: list[tuple[str, Any, str]] = [
    ("expired", lambda: issue_dev_token("alice", ["applicant"], ttl_s=-60), "expired"),
    (
        "wrong audience",
        lambda: issue_dev_token("alice", ["applicant"], audience="someone-else"),
        "Audience",
    ),
    ("wrong issuer", lambda: _signed_with_dev_key(_claims(iss="https://evil.example")), "issuer"),
    ("missing exp", lambda: _signed_with_dev_key(_claims(exp=None)), '"exp"'),
    ("missing sub", lambda: _signed_with_dev_key(_claims(sub=None)), '"sub"'),
    (
        "not yet valid",
        lambda: _signed_with_dev_key(_claims(nbf=int(time.time()) + 3600)),
        "not yet valid",
    ),
    (
        "HS256 with a shared secret",
        lambda: jwt.encode(
            _claims(), "a-shared-secret-long-enough-for-hs256!", "HS256", headers={"kid": DEV_KID}
        ),
        "'HS256' is not allowed",
    ),
    (
        "HS256 keyed with our public key",
        lambda: _hand_made(
            {"alg": "HS256", "typ": "JWT", "kid": DEV_KID}, _claims(), _dev_public_pem()
        ),
        "'HS256' is not allowed",
    ),
    (
        "alg none",
        lambda: _hand_made({"alg": "none", "typ": "JWT", "kid": DEV_KID}, _claims(), None),
        "'none' is not allowed",
    ),
    ("missing kid", lambda: _signed_with_dev_key(_claims(), headers={}), "kid None"),
    (
        "unknown kid",
        lambda: _signed_with_dev_key(_claims(), headers={"kid": "rotated-away"}),
        "kid 'rotated-away'",
    ),
    ("signed by another key", lambda: _signed_with_another_rsa_key(), "Signature verification"),
    ("tampered claims", lambda: _tampered(), "Signature verification"),
    ("not a jwt", lambda: "not-a-jwt", "segments"),
    ("roles not a list", lambda: issue_dev_token("alice", "reviewer"), "roles must be a list"),  # type: ignore[arg-type]
    (
        "roles not strings",
        lambda: _signed_with_dev_key(_claims(roles=["reviewer", 7])),
        "roles must be a list",
    ),
]


def _tampered() -> str:
    header, _, signature = issue_dev_token("alice", ["applicant"]).split(".")
    forged = _b64(json.dumps(_claims(roles=["process_admin"])).encode())
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("make_token", "reason"), [(m, r) for _, m, r in REFUSED], ids=[i for i, _, _ in REFUSED]
)
async def test_an_invalid_token_is_refused_with_401(
    verifier: JwtVerifier, make_token: Any, reason: str
) -> None:
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(make_token())

    assert refused.value.status == 401
    assert refused.value.detail.startswith("invalid bearer token")
    assert reason in refused.value.detail


async def test_a_refused_signature_tells_the_client_it_was_an_invalid_token(
    verifier: JwtVerifier,
) -> None:
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(issue_dev_token("alice", [], ttl_s=-60))

    assert refused.value.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


# ---- roles -----------------------------------------------------------------------------


def _principal(*roles: str) -> Principal:
    return Principal(sub="alice", department="it", roles=frozenset(roles))


@pytest.mark.parametrize(
    ("held", "required"),
    [
        ((), (Role.REVIEWER,)),
        (("applicant",), (Role.REVIEWER,)),
        (("applicant", "finance"), (Role.REVIEWER, Role.DEPT_HEAD)),
    ],
)
def test_acting_without_a_required_role_is_forbidden(
    held: tuple[str, ...], required: tuple[Role, ...]
) -> None:
    with pytest.raises(NotPermitted) as refused:
        require_role(_principal(*held), *required, action="deciding an approval")

    assert STATUS_OF[NotPermitted] == 403
    assert refused.value.problem_extra["required_roles"] == [r.value for r in required]
    assert "deciding an approval requires one of the roles" in str(refused.value)


@pytest.mark.parametrize(
    ("held", "required"),
    [
        (("reviewer",), (Role.REVIEWER,)),
        (("dept_head", "applicant"), (Role.REVIEWER, Role.DEPT_HEAD)),
    ],
)
def test_holding_any_one_of_the_required_roles_is_enough(
    held: tuple[str, ...], required: tuple[Role, ...]
) -> None:
    require_role(_principal(*held), *required, action="deciding an approval")  # no refusal
