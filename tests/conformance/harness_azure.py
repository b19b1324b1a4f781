"""The Azure OpenAI adapter against the fake Azure resource (OpenAI's format, Azure's URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fluent_ai.providers.azure import AzureOpenAIProvider
from tests.conformance.harness_openai import OpenAIHarness
from tests.conformance.spec import GOOD_KEY, transport_config
from tests.fakes.azure_server import FakeAzureServer


class AzureHarness(OpenAIHarness):
    """The OpenAI harness's readers apply as-is: the wire body is OpenAI's."""

    name = "azure"
    model = "gpt-4o-mini"  # the deployment name
    supports_thinking = False
    supports_error_events = True

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> AzureOpenAIProvider:
        config = transport_config(max_retries)
        return AzureOpenAIProvider(
            endpoint=self.server.base_url,
            deployment=self.model,
            api_key=api_key,
            config=config,
            pool=self.pool,
        )


@contextmanager
def harness() -> Iterator[AzureHarness]:
    with FakeAzureServer(api_key=GOOD_KEY) as server:
        yield AzureHarness(server)
