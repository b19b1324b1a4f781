"""AWS credentials and Signature Version 4 signing, for :class:`HttpTransport`'s ``sign`` hook.

The signature itself is botocore's (``SigV4Auth``): re-implementing AWS's canonical
request rules (double-encoded paths, header trimming, the key derivation) would be a
second copy of security-sensitive code. botocore takes a quarter of a second to import
and resolving a profile or SSO login reads files (and may call the network), so both
happen in a worker thread through :meth:`SigV4Signer.prepare`, never on the event loop
and never at ``import fluent_ai``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fluent_ai.errors import ConfigurationError

__all__ = ["AwsCredentials", "SigV4Signer", "credentials_from_env"]

KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
TOKEN_VAR = "AWS_SESSION_TOKEN"
# Headers worth signing among those the transport sends; the rest (accept, user-agent,
# the ones httpx adds) may be rewritten by a proxy without invalidating the request.
_SIGNED_PREFIXES = ("content-type", "x-amz-")
_ADDED = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key pair and the optional session token of temporary credentials."""

    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def credentials_from_env(
    env: Mapping[str, str],
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    provider: str = "bedrock",
) -> AwsCredentials | None:
    """Explicit arguments, else the standard ``AWS_*`` variables; ``None`` when neither.

    Half a key pair is a configuration mistake worth naming rather than a reason to
    fall back to some other identity.
    """
    key_id = access_key or env.get("AWS_ACCESS_KEY_ID") or None
    secret = secret_key or env.get("AWS_SECRET_ACCESS_KEY") or None
    if key_id is None and secret is None:
        return None
    if key_id is None or secret is None:
        missing = "AWS_ACCESS_KEY_ID" if key_id is None else "AWS_SECRET_ACCESS_KEY"
        raise ConfigurationError(
            f"{provider}: incomplete AWS credentials: set {missing} (or pass it explicitly)",
            provider=provider,
        )
    token = session_token or env.get(TOKEN_VAR) or None
    return AwsCredentials(key_id, secret, token)


class SigV4Signer:
    """A ``RequestSigner`` that signs every attempt afresh (a retry gets a new date).

    ``credentials`` is ``None`` when botocore's default chain (profiles, SSO, container
    and instance roles) must supply them; :meth:`prepare` resolves it off the loop.
    """

    def __init__(
        self,
        *,
        service: str,
        region: str,
        credentials: AwsCredentials | None,
        provider: str = "bedrock",
    ) -> None:
        self.service = service
        self.region = region
        self.provider = provider
        self.credentials = credentials
        self._use_chain = credentials is None
        self._chain: Any = None
        self._auth: Any = None  # botocore's (SigV4Auth, AWSRequest, Credentials) once loaded

    async def prepare(self) -> None:
        """Load botocore and (re)read chain credentials in a thread, before a request."""
        if self._auth is None or self._use_chain:
            await asyncio.to_thread(self._load)

    def _load(self) -> None:
        if self._auth is None:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            self._auth = (SigV4Auth, AWSRequest, Credentials)
        if not self._use_chain:
            return
        if self._chain is None:
            import botocore.session

            self._chain = botocore.session.Session().get_credentials()
        if self._chain is None:
            raise ConfigurationError(
                f"{self.provider}: no AWS credentials: set {' and '.join(KEY_VARS)} "
                f"(and {TOKEN_VAR} for temporary ones), or configure an AWS profile",
                provider=self.provider,
            )
        # Refreshable credentials (SSO, assumed roles) renew here when close to expiry.
        frozen = self._chain.get_frozen_credentials()
        self.credentials = AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """The headers that authenticate this exact request (SigV4 over its body)."""
        if self._auth is None or self.credentials is None:
            raise ConfigurationError(
                f"{self.provider}: request signed before the signer was prepared",
                provider=self.provider,
            )
        sigv4, aws_request, botocore_credentials = self._auth
        creds = self.credentials
        signed = {k: v for k, v in headers.items() if k.lower().startswith(_SIGNED_PREFIXES)}
        request = aws_request(method=method, url=url, data=body, headers=signed)
        credentials = botocore_credentials(creds.access_key, creds.secret_key, creds.session_token)
        sigv4(credentials, self.service, self.region).add_auth(request)
        return {name: str(request.headers[name]) for name in _ADDED if name in request.headers}
