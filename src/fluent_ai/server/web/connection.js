// The realtime WebSocket: first-frame authentication, and reconnection with backoff.

import { clearError, setEnabled, setStatus, showError, str, ui } from "./dom.js";
import { dispatch, stopRefreshing } from "./events.js";
import { interruptAll, renderJoined, showRoom } from "./rooms.js";
import { state } from "./state.js";

const KEY_STORAGE = "fluent-ai.key"; // sessionStorage: forgotten when the tab closes
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30000;
const FATAL_CLOSES = new Set([4401, 4403]); // retrying with the same key cannot help
const CLOSE_REASONS = new Map([
  [1001, "the server is shutting down"],
  [1009, "a frame was too big"],
  [4401, "the server did not accept the key"],
  [4403, "the key lacks the 'chat' scope"],
  [4408, "the connection went quiet (heartbeat timeout)"],
  [4429, "this page fell behind the conversation"],
]);
let reconnectTimer = 0;

function connect() {
  window.clearTimeout(reconnectTimer);
  const url = new URL("v1/realtime", document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url.href);
  state.socket = socket;
  setStatus("connecting", "connecting…");
  // Browsers cannot set headers on a WebSocket: the key goes in the first frame.
  socket.addEventListener("open", () => {
    if (socket === state.socket) socket.send(JSON.stringify({ type: "auth", token: state.key }));
  });
  socket.addEventListener("message", (event) => {
    if (socket === state.socket && typeof event.data === "string") dispatch(event.data);
  });
  socket.addEventListener("close", (event) => {
    if (socket === state.socket) closed(event.code, str(event.reason));
  });
}

function closed(code, reason) {
  state.socket = null;
  state.ready = false;
  stopRefreshing();
  interruptAll();
  const why = reason || CLOSE_REASONS.get(code) || "";
  if (FATAL_CLOSES.has(code)) {
    state.wantConnected = false;
    setStatus("rejected", "rejected");
    showError(`Disconnected: ${why || `close code ${code}`}.`);
  } else if (state.wantConnected) {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** state.attempts);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2); // jitter
    state.attempts += 1;
    setStatus("reconnecting", `reconnecting in ${Math.ceil(delay / 1000)} s`);
    showError(`Connection lost${why ? `: ${why}` : ""}. Reconnecting…`);
    reconnectTimer = window.setTimeout(connect, delay);
  } else {
    setStatus("offline", "offline");
  }
  setEnabled();
}

export function signIn(key) {
  state.key = key;
  window.sessionStorage.setItem(KEY_STORAGE, key);
  state.wantConnected = true;
  state.attempts = 0;
  clearError();
  connect();
  setEnabled();
}

/** Close the connection and forget the key and the rooms. */
export function signOut() {
  state.wantConnected = false;
  window.clearTimeout(reconnectTimer);
  const socket = state.socket;
  if (socket) {
    state.socket = null;
    socket.close(1000, "signed out");
  }
  closed(1000, "");
  window.sessionStorage.removeItem(KEY_STORAGE);
  state.key = "";
  state.user = "";
  state.presence = "online";
  ui.presenceSelect.value = "online";
  ui.keyInput.value = "";
  ui.me.textContent = "";
  state.rooms.clear();
  showRoom("");
  renderJoined();
  ui.roomList.replaceChildren();
  ui.searchResults.replaceChildren();
  ui.searchStatus.textContent = "";
}

/** The key this tab signed in with earlier, if any. */
export function savedKey() {
  return window.sessionStorage.getItem(KEY_STORAGE) || "";
}
