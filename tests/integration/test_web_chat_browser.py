"""The web chat page end to end: the real app on loopback, Debian's chromium via Playwright.

The server is :func:`~fluent_ai.server.app.create_app` with the realtime, history and web
page routers, real API keys (SQLite key store) and a real SQLite chat store; the room's
agent is a :class:`~fluent_ai.providers.scripted.FunctionModel` whose replies stream word by
word. Two browser contexts are two users. Skipped without ``/usr/bin/chromium`` unless
``FLUENT_AI_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI

from fluent_ai.agent.agent import Agent
from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.authenticator import CredentialAuthenticator
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.config import ServerSettings, Settings
from fluent_ai.errors import ConfigurationError
from fluent_ai.facade import FluentAI
from fluent_ai.providers.scripted import FunctionModel, Reply
from fluent_ai.server.app import ClosablePart, create_app
from fluent_ai.server.history_api import router as history_router
from fluent_ai.server.history_service import open_history_service
from fluent_ai.server.ratelimit import InProcessLimiter
from fluent_ai.server.realtime import LocalBroker, RealtimeService
from fluent_ai.server.state import ServerState
from fluent_ai.server.web_page import CONTENT_SECURITY_POLICY
from fluent_ai.server.web_page import router as web_router
from fluent_ai.types import Message

pytestmark = pytest.mark.integration

# Read at import: the suite's autouse fixture clears FLUENT_AI_* before each test runs.
REQUIRE_BROWSER = os.environ.get("FLUENT_AI_REQUIRE_BROWSER") == "1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT_MS = 10_000  # how long a UI expectation may wait for the server (not a speed check)

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Locator,
        Page,
        expect,
    )
    from playwright.sync_api import sync_playwright as _sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    _sync_playwright = None  # type: ignore[assignment]

XSS_PAYLOADS = (
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=1</script>",
    "javascript:window.__xss=1",
    '<a href="javascript:window.__xss=1">click me</a>',
    "<svg onload=window.__xss=1></svg>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "&lt;b&gt;not bold&lt;/b&gt;",
)
USERS = ("alice", "bob")
T = TypeVar("T")
MARKUP = (
    "#messages img, #messages script, #messages svg, #messages iframe, #messages a, #messages b"
)


def _agent_reply(messages: tuple[Message, ...], _request: Any) -> Reply:
    """Streams word by word; the text carries markup the page must show as text."""
    said = messages[-1].text.rsplit(": ", 1)[-1]
    return Reply(
        text=f"Echo of {said} <b>bold</b> <img src=x onerror=window.__xss=1> end.", delay=0.02
    )


class Agents:
    """The realtime agent factory: ``helper`` and any spec starting with it."""

    def __init__(self) -> None:
        self._built: dict[str, Agent] = {}

    async def __call__(self, spec: str) -> Agent:
        if not spec.startswith("helper"):
            raise ConfigurationError(f"unknown agent {spec!r}")
        if spec not in self._built:
            builder = FluentAI.agent("helper").model(FunctionModel(_agent_reply))
            self._built[spec] = await asyncio.to_thread(builder.build)
        return self._built[spec]


def _in_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on a fresh event loop in another thread (Playwright owns this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


def _issue_keys(path: Path) -> dict[str, str]:
    """Real API keys: two chat users, and one key without the chat scope."""

    async def issue() -> dict[str, str]:
        async with KeyRing(SqliteKeyStore(path)) as ring:
            keys = {name: (await ring.create(name, scopes="chat")).secret for name in USERS}
            keys["embedder"] = (await ring.create("embedder", scopes="embeddings")).secret
            return keys

    return _in_thread(issue)


def _build_app(home: Path) -> FastAPI:
    """The real app with the realtime, history and web page routers over one chat store."""
    settings = Settings(home=home, server=ServerSettings(typing_ttl=2.0))
    authenticator = CredentialAuthenticator(KeyRing(SqliteKeyStore(home / "keys.db")))
    store = SqliteChatStore(home / "history.db")
    realtime = RealtimeService(settings.server, authenticator, store, Agents(), LocalBroker())

    async def history(state: ServerState) -> ClosablePart:
        # The history service owns (and closes) the store the rooms are kept in.
        return await open_history_service(state.settings, store=store, semantic=False)

    async def rooms(state: ServerState) -> ClosablePart:
        await realtime.start()
        return realtime

    return create_app(
        settings,
        authenticator=authenticator,
        limiter=InProcessLimiter(),
        extra_routers=[realtime.router(), history_router, web_router],
        parts={"history": history, "realtime": rooms},
    )


@contextmanager
def _serving(home: Path, port: int = 0) -> Iterator[int]:
    """The app for ``home`` under uvicorn on ``port`` (0: any free one) until the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        _build_app(home),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="web-chat-uvicorn", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the chat server failed to start"
            time.sleep(0.02)
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()
        assert not thread.is_alive(), "the chat server did not stop"


@dataclass
class ChatServer:
    """A running server: where it is, its data directory and the users' keys."""

    home: Path
    port: int
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class ChatPage:
    """One user's tab, with the steps a person takes; records CSP and script errors."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.problems: list[str] = []
        page.set_default_timeout(WAIT_MS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and re.search(r"Content.Security|Trusted Type|Refused", text):
            self.problems.append(text)

    def sign_in(self, key: str, *, expect_state: str = "connected") -> None:
        self.page.goto(self.url)
        self.page.fill("#key-input", key)
        self.page.click("#connect-button")
        expect(self.page.locator("#connection-status")).to_have_text(expect_state)

    def join(self, room: str, agent: str = "") -> None:
        self.page.fill("#room-input", room)
        self.page.fill("#agent-input", agent)
        self.page.click("#join-button")
        expect(self.page.locator("#room-title")).to_have_text(room)

    def show(self, room: str) -> None:
        self.page.locator("#joined-rooms button", has_text=room).click()
        expect(self.page.locator("#room-title")).to_have_text(room)

    def say(self, text: str) -> None:
        self.page.fill("#message-input", text)
        self.page.press("#message-input", "Enter")
        expect(self.page.locator("#message-input")).to_have_value("")

    def message(self, text: str) -> Locator:
        """The message whose text is exactly ``text`` (as text: markup would not match)."""
        return self.page.locator("#messages .text").filter(
            has_text=re.compile(f"^{re.escape(text)}$")
        )

    def member(self, user: str) -> Locator:
        return self.page.locator("#members li").filter(
            has=self.page.locator(".name", has_text=re.compile(f"^{re.escape(user)}$"))
        )

    def xss_fired(self) -> bool:
        return bool(self.page.evaluate("() => window.__xss !== undefined"))


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"FLUENT_AI_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if _sync_playwright is None:
        _unavailable("playwright is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    expect.set_options(timeout=WAIT_MS)
    with _sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[ChatServer]:
    home = tmp_path / "server"
    home.mkdir()
    keys = _issue_keys(home / "keys.db")
    with _serving(home) as port:
        yield ChatServer(home, port, keys)


@pytest.fixture
def open_page(browser: Browser, chat_server: ChatServer) -> Iterator[Callable[[], ChatPage]]:
    """Opens tabs in separate browser contexts (separate users); all closed at the end,
    before the server stops (this fixture depends on it)."""
    contexts: list[BrowserContext] = []

    def open_one() -> ChatPage:
        context = browser.new_context()
        contexts.append(context)
        return ChatPage(context.new_page(), chat_server.url)

    try:
        yield open_one
    finally:
        for context in contexts:
            context.close()


def test_page_is_served_with_a_policy_the_browser_enforces(
    open_page: Callable[[], ChatPage], chat_server: ChatServer
) -> None:
    tab = open_page()
    response = tab.page.goto(chat_server.url)
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Trusted Types: parsing a string as HTML throws; an injected inline script never runs.
    outcome = tab.page.evaluate(
        """() => {
            const results = [];
            try {
                document.body.insertAdjacentHTML("beforeend", "<b>x</b>");
                results.push("parsed");
            } catch (error) { results.push(error.name); }
            const script = document.createElement("script");
            try {
                script.text = "window.__inline = 1";
                document.body.append(script);
                results.push("added");
            } catch (error) { results.push(error.name); }
            return [results, window.__inline === undefined];
        }"""
    )
    assert outcome == [["TypeError", "TypeError"], True]
    expect(tab.page.locator("#connection-status")).to_have_text("offline")


def test_two_users_chat_with_typing_presence_agent_and_search(
    open_page: Callable[[], ChatPage], chat_server: ChatServer
) -> None:
    alice, bob = open_page(), open_page()
    alice.sign_in(chat_server.keys["alice"])
    bob.sign_in(chat_server.keys["bob"])
    expect(alice.page.locator("#me")).to_have_text("as alice")
    alice.join("lobby")
    bob.join("lobby")
    for tab in (alice, bob):
        expect(tab.member("alice")).to_have_attribute("data-status", "online")
        expect(tab.member("bob")).to_have_attribute("data-status", "online")
        expect(tab.page.locator("#room-list li")).to_have_text(["lobby2 members"])

    # Messages reach both tabs, confirmed (no longer pending) on the sender's.
    alice.say("hello bob, the zebracorn password is tea")
    for tab in (alice, bob):
        expect(tab.message("hello bob, the zebracorn password is tea")).to_have_count(1)
    expect(alice.page.locator("#messages li.pending")).to_have_count(0)
    expect(bob.page.locator("#messages li .author").first).to_have_text("alice")

    # Typing shows on the other tab and clears when the server's typing_ttl expires ...
    bob.page.locator("#message-input").press_sequentially("hel")
    expect(alice.page.locator("#typing")).to_have_text("bob is typing…")
    expect(bob.page.locator("#typing")).to_have_text("")
    expect(alice.page.locator("#typing")).to_have_text("")
    # ... and when the message is sent.
    bob.page.locator("#message-input").press_sequentially("lo alice")
    expect(alice.page.locator("#typing")).to_have_text("bob is typing…")
    bob.page.press("#message-input", "Enter")
    expect(alice.message("hello alice")).to_have_count(1)
    expect(alice.page.locator("#typing")).to_have_text("")

    # Presence changes show on the other tab.
    for status in ("away", "dnd", "online"):
        bob.page.select_option("#presence-select", status)
        expect(alice.member("bob")).to_have_attribute("data-status", status)
        expect(alice.member("bob").locator(".presence")).to_have_text(status)

    # An agent's reply streams in, token by token, on every member's tab.
    alice.join("bots", agent="helper")
    bob.page.click("#rooms-refresh")  # then pick the room from the active-rooms list
    bob.page.locator("#room-list button", has_text="bots").click()
    expect(bob.page.locator("#room-title")).to_have_text("bots")
    expect(bob.page.locator("#room-agent")).to_have_text("agent: helper")
    for tab in (alice, bob):
        tab.page.evaluate(
            """() => {
                window.__partials = [];
                const list = document.getElementById("messages");
                new MutationObserver(() => {
                    for (const node of list.querySelectorAll("li.streaming .text")) {
                        if (window.__partials.at(-1) !== node.textContent) {
                            window.__partials.push(node.textContent);
                        }
                    }
                }).observe(list, {subtree: true, childList: true, characterData: true});
            }"""
        )
    bob.say("what is the plan")
    reply = "Echo of what is the plan <b>bold</b> <img src=x onerror=window.__xss=1> end."
    for tab in (alice, bob):
        expect(tab.message(reply)).to_have_count(1)
        expect(tab.page.locator("#messages li.streaming")).to_have_count(0)
        expect(tab.page.locator("#messages li.agent .author")).to_have_text("agent:helper")
        partials = [p for p in tab.page.evaluate("() => window.__partials") if p]
        assert len(set(partials)) >= 3, f"the reply did not stream: {partials}"
        assert all(reply.startswith(p) for p in partials)
        assert tab.page.locator(MARKUP).count() == 0
        assert not tab.xss_fired()

    # History search (REST, the key as Bearer) finds the earlier message.
    alice.page.fill("#search-input", "zebracorn")
    alice.page.click("#search-button")
    hits = alice.page.locator("#search-results li")
    expect(hits).to_have_count(1)
    expect(hits.locator(".text")).to_contain_text("zebracorn")
    expect(hits.locator(".where")).to_have_text("#lobby")

    # Leaving shows on the other tab.
    alice.show("lobby")
    bob.show("lobby")
    bob.page.click("#leave-button")
    expect(alice.member("bob")).to_have_count(0)
    expect(alice.member("alice")).to_have_count(1)
    expect(bob.page.locator("#joined-rooms li")).to_have_count(1)
    for tab in (alice, bob):
        assert tab.problems == []


def test_markup_and_script_payloads_stay_text(
    open_page: Callable[[], ChatPage], chat_server: ChatServer
) -> None:
    alice, bob = open_page(), open_page()
    alice.sign_in(chat_server.keys["alice"])
    bob.sign_in(chat_server.keys["bob"])
    agent = "helper<img/src=x/onerror=window.__xss=1>"
    alice.join("xss", agent=agent)
    bob.join("xss")
    expect(bob.page.locator("#room-agent")).to_have_text(f"agent: {agent}")
    for payload in XSS_PAYLOADS:
        alice.say(payload)
        reply = f"Echo of {payload} <b>bold</b> <img src=x onerror=window.__xss=1> end."
        for tab in (alice, bob):
            expect(tab.message(payload)).to_have_count(1)
            expect(tab.message(reply)).to_have_count(1)
    for tab in (alice, bob):
        expect(tab.page.locator("#messages li.streaming")).to_have_count(0)
        authors = tab.page.locator("#messages li.agent .author")
        expect(authors).to_have_count(len(XSS_PAYLOADS))
        expect(authors.first).to_have_text(f"agent:{agent}")

    # A room name with markup is refused by the page, an agent name with it by the
    # server: both errors are shown as text.
    alice.page.fill("#room-input", "<img src=x onerror=window.__xss=1>")
    alice.page.click("#join-button")
    expect(alice.page.locator("#error-text")).to_contain_text("room name")
    alice.page.fill("#room-input", "elsewhere")
    alice.page.fill("#agent-input", "<img/src=x/onerror=window.__xss=1>")
    alice.page.click("#join-button")
    expect(alice.page.locator("#error-text")).to_contain_text(
        "unknown agent '<img/src=x/onerror=window.__xss=1>'"
    )

    # Search results are text too.
    bob.page.fill("#search-input", "onerror")
    bob.page.click("#search-button")
    expect(bob.page.locator("#search-results li").first).to_contain_text("<img src=x")

    for tab in (alice, bob):
        assert tab.page.locator(MARKUP).count() == 0
        assert tab.page.locator("#search-results img, #error img, #room-agent img").count() == 0
        assert tab.page.locator("body img, body script:not([src]), body iframe").count() == 0
        assert not tab.xss_fired()
        assert tab.problems == [], "nothing was even attempted against the policy"


def test_refused_keys_stop_and_a_good_key_stays_in_the_tab_only(
    open_page: Callable[[], ChatPage], chat_server: ChatServer
) -> None:
    tab = open_page()
    tab.sign_in("fa-not-a-real-key", expect_state="rejected")
    expect(tab.page.locator("#error")).to_be_visible()
    expect(tab.page.locator("#connect-button")).to_be_visible()
    tab.page.fill("#key-input", chat_server.keys["embedder"])
    tab.page.click("#connect-button")
    expect(tab.page.locator("#connection-status")).to_have_text("rejected")
    expect(tab.page.locator("#error-text")).to_contain_text("chat")

    key = chat_server.keys["alice"]
    tab.sign_in(key)
    assert key not in tab.page.url
    stored = tab.page.evaluate(
        "() => [sessionStorage.getItem('fluent-ai.key'), localStorage.length]"
    )
    assert stored == [key, 0]
    tab.page.reload()  # the tab remembers the key: it signs in again by itself
    expect(tab.page.locator("#connection-status")).to_have_text("connected")
    tab.page.click("#disconnect-button")
    expect(tab.page.locator("#connection-status")).to_have_text("offline")
    assert tab.page.evaluate("() => sessionStorage.length") == 0
    assert tab.problems == []


def test_tabs_reconnect_and_rejoin_after_a_server_restart(browser: Browser, tmp_path: Path) -> None:
    home = tmp_path / "server"
    home.mkdir()
    keys = _issue_keys(home / "keys.db")
    contexts = [browser.new_context(), browser.new_context()]
    try:
        with _serving(home) as port:
            url = f"http://127.0.0.1:{port}/"
            alice, bob = (ChatPage(context.new_page(), url) for context in contexts)
            alice.sign_in(keys["alice"])
            bob.sign_in(keys["bob"])
            alice.join("lobby")
            bob.join("lobby")
            alice.say("before the restart")
            expect(bob.message("before the restart")).to_have_count(1)
        for tab in (alice, bob):
            expect(tab.page.locator("#connection-status")).to_have_attribute(
                "data-state", "reconnecting"
            )
        with _serving(home, port):
            for tab in (alice, bob):
                expect(tab.page.locator("#connection-status")).to_have_text(
                    "connected", timeout=3 * WAIT_MS
                )
                expect(tab.member("alice")).to_have_count(1)
                expect(tab.member("bob")).to_have_count(1)
                expect(tab.message("before the restart")).to_have_count(1)
            bob.say("after the restart")
            expect(alice.message("after the restart")).to_have_count(1)
            while contexts:  # before the server stops
                contexts.pop().close()
    finally:
        for context in contexts:
            context.close()
