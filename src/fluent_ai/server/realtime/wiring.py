"""How the server app hosts realtime chat: a part built at start-up, and its route.

:func:`create_app <fluent_ai.server.app.create_app>` includes routers when the app is
built but starts services in its lifespan, so the endpoint here finds the service in
``state.parts["realtime"]`` per connection::

    create_app(..., extra_routers=[realtime.router], parts={"realtime": realtime.start_part})

The part opens its own handle on the chat history (``history_store``: SQLite or the
shared PostgreSQL), picks the broker from ``redis_url``, and lets rooms name a configured
agent (``[agents.NAME]``) or any model spec as their agent.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from fastapi import APIRouter
from starlette.websockets import WebSocket

from fluent_ai.chat.open import open_chat_store
from fluent_ai.chat.store import ChatStore
from fluent_ai.server.model_policy import check_model_spec
from fluent_ai.server.realtime.broker import build_broker
from fluent_ai.server.realtime.connection import CLOSE_CODES
from fluent_ai.server.realtime.protocol import encode, error_event
from fluent_ai.server.realtime.service import PATH, RealtimeService
from fluent_ai.server.state import ServerState, server_state

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.runtime import Runtime
    from fluent_ai.server.agents import AgentPool

__all__ = ["PART", "RealtimePart", "RoomAgents", "router", "start_part"]

#: The key of the realtime part in ``ServerState.parts``.
PART: Final = "realtime"
#: Model-spec agents kept per process (the configured ones live in the agent pool).
_MODEL_AGENTS = 32

router = APIRouter()


@router.websocket(PATH, name="realtime")
async def realtime_endpoint(websocket: WebSocket) -> None:
    """Realtime chat rooms (the protocol is in ``docs/realtime.md``)."""
    part = server_state(websocket).parts.get(PART)
    if not isinstance(part, RealtimePart):
        await websocket.accept()
        message = "realtime chat is not enabled on this server"
        await websocket.send_text(encode(error_event("unavailable", message)))
        await websocket.close(CLOSE_CODES["unavailable"], message)
        return
    await part.service.handle(websocket)


class RoomAgents:
    """What a room's ``agent`` may name: a configured agent, or a model spec.

    Configured agents come from the server's agent pool (their prompt, tools and memory
    apply); a model spec (``openai:gpt-4o-mini``, ``local``) becomes a plain agent, built
    once per spec and kept (at most 32, least recently used out).
    """

    def __init__(self, pool: AgentPool, runtime: Runtime) -> None:
        self._pool = pool
        self._runtime = runtime
        self._models: OrderedDict[str, Agent] = OrderedDict()

    async def __call__(self, spec: str) -> Agent:
        name = spec.removeprefix("agent:")
        if name in self._pool.names:
            return await self._pool.get(name)
        agent = self._models.get(spec)
        if agent is not None:
            self._models.move_to_end(spec)
            return agent
        check_model_spec(spec, "agent")
        from fluent_ai.facade import FluentAI

        agent = await FluentAI.agent("room-agent").model(spec).abuild(self._runtime)
        self._models[spec] = agent
        if len(self._models) > _MODEL_AGENTS:
            _, dropped = self._models.popitem(last=False)
            await dropped.aclose()
        return agent

    async def aclose(self) -> None:
        agents, self._models = list(self._models.values()), OrderedDict()
        for agent in agents:
            await agent.aclose()


class RealtimePart:
    """The realtime service with what it was given to own: its store and agents."""

    def __init__(self, service: RealtimeService, store: ChatStore, agents: RoomAgents) -> None:
        self.service = service
        self._store = store
        self._agents = agents

    async def aclose(self) -> None:
        """Close every connection (1001), then the broker, the agents and the store."""
        try:
            await self.service.aclose()
        finally:
            try:
                await self._agents.aclose()
            finally:
                await self._store.close()


async def start_part(state: ServerState) -> RealtimePart:
    """Build and start realtime chat for the app (a ``parts`` factory of ``create_app``)."""
    settings = state.settings
    store = open_chat_store(settings.history_store or settings.home / "history.db")
    await store.open()
    agents = RoomAgents(state.parts["agents"], state.runtime)
    service = RealtimeService(
        settings.server,
        state.authenticator,
        store,
        agents,
        build_broker(settings.redis_url),
        limiter=state.limiter,
    )
    return RealtimePart(service, store, agents)
