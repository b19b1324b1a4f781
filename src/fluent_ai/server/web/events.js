// What the page does with each server event of the realtime protocol (/v1/realtime).

import { clearError, setEnabled, setStatus, showError, str, ui } from "./dom.js";
import {
  addMessage,
  appendDelta,
  buildEntry,
  finishStream,
  markFailed,
  newRoom,
  prependOlder,
  renderJoined,
  renderRoomList,
  setMembers,
  setPresence,
  setTyping,
  showRoom,
  startStream,
} from "./rooms.js";
import { ROOM_PATTERN, send, state } from "./state.js";

const ROOMS_REFRESH_MS = 15000; // the active-rooms list also counts other replicas' members
const ROOMS_SETTLE_MS = 1000; // one refresh for a burst of joins and leaves
let roomsTimer = 0;
let roomsSoon = 0;

export function joinRoom(name, agent) {
  if (!ROOM_PATTERN.test(name)) {
    showError("A room name is 1 to 64 letters, digits, '_', '.' or '-'.");
    return;
  }
  send(agent ? { type: "join", room: name, agent } : { type: "join", room: name });
}

/** Join ``name``, or just show it when this page is in it already. */
function pickRoom(name) {
  if (state.rooms.has(name)) showRoom(name);
  else joinRoom(name, "");
}

function refreshRoomsSoon() {
  window.clearTimeout(roomsSoon);
  roomsSoon = window.setTimeout(() => send({ type: "rooms" }), ROOMS_SETTLE_MS);
}

export function stopRefreshing() {
  window.clearInterval(roomsTimer);
  window.clearTimeout(roomsSoon);
}

const roomOf = (frame) => state.rooms.get(str(frame.room));

function ready(frame) {
  state.ready = true;
  state.attempts = 0;
  state.user = str(frame.user);
  ui.me.textContent = state.user ? `as ${state.user}` : "";
  setStatus("online", "connected");
  clearError();
  for (const room of state.rooms.values()) joinRoom(room.name, ""); // after a reconnect
  if (state.presence !== "online") send({ type: "presence", status: state.presence });
  send({ type: "rooms" });
  stopRefreshing();
  roomsTimer = window.setInterval(() => send({ type: "rooms" }), ROOMS_REFRESH_MS);
  setEnabled();
}

function joined(frame) {
  const name = str(frame.room);
  if (!name) return;
  const previous = state.rooms.get(name);
  const room = newRoom(name, str(frame.agent)); // null: the room has no agent
  for (const message of Array.isArray(frame.history) ? frame.history : []) {
    if (message && typeof message === "object") room.entries.push(buildEntry(room, message));
  }
  for (const entry of previous ? previous.entries : []) {
    if (!entry.id) room.entries.push(entry); // our unsent messages stay visible, marked failed
  }
  state.rooms.set(name, room);
  setMembers(room, frame.members);
  if (!state.rooms.has(state.current) || state.current === name || !previous) showRoom(name);
  else renderJoined();
  refreshRoomsSoon();
}

function left(frame) {
  const name = str(frame.room);
  state.rooms.delete(name);
  if (state.current === name) showRoom(state.rooms.keys().next().value || "");
  else renderJoined();
  refreshRoomsSoon();
}

/** The room's agent changed (someone joined naming another one, or none). */
function agentChanged(frame) {
  const room = roomOf(frame);
  if (!room) return;
  room.agent = str(frame.agent);
  if (room.name === state.current) showRoom(room.name);
}

function presence(frame) {
  const user = str(frame.user);
  const status = str(frame.status);
  const room = roomOf(frame);
  if (!user || !room) return;
  if (user === state.user && status !== "offline") {
    state.presence = status;
    ui.presenceSelect.value = status;
  }
  setPresence(room, user, status);
  if (status === "online" || status === "offline") refreshRoomsSoon();
}

function typing(frame) {
  const room = roomOf(frame);
  const user = str(frame.user);
  if (!room || !user) return;
  if (user !== state.user) {
    setTyping(room, user, frame.typing !== false);
  } else if (frame.typing === false && state.typing.room === room.name) {
    state.typing.sentAt = 0; // the server's typing_ttl ran out: the next key press renews
  }
}

function message(frame) {
  const room = roomOf(frame);
  if (!room) return;
  setTyping(room, str(frame.user), false);
  addMessage(room, frame);
}

function agentDone(frame) {
  const room = roomOf(frame);
  const entry = room && room.byId.get(str(frame.id));
  if (entry) finishStream(entry, str(frame.text), "");
  else if (room) addMessage(room, frame);
}

function agentError(frame) {
  const room = roomOf(frame);
  const entry = room && room.byId.get(str(frame.id));
  const problem = `the agent failed: ${str(frame.message) || "unknown error"}`;
  if (entry) finishStream(entry, "", problem);
  else showError(problem);
}

function refused(frame) {
  const text = str(frame.message) || "the server refused a request";
  const code = str(frame.code);
  const ref = str(frame.ref);
  for (const room of state.rooms.values()) {
    const entry = room.byClientId.get(ref);
    if (entry && entry.pending) markFailed(entry, `not sent: ${text}`);
    if (ref === "history") room.olderAsked = ""; // let the reader try again
  }
  showError(code ? `${text} (${code})` : text);
}

const HANDLERS = new Map([
  ["ready", ready],
  ["joined", joined],
  ["left", left],
  ["rooms", (frame) => renderRoomList(frame.rooms, pickRoom)],
  ["members", (frame) => roomOf(frame) && setMembers(roomOf(frame), frame.members)],
  ["presence", presence],
  ["typing", typing],
  ["message", message],
  ["history", (frame) => roomOf(frame) && prependOlder(roomOf(frame), frame.messages)],
  ["agent", agentChanged],
  ["agent_start", (frame) => {
    const room = roomOf(frame);
    if (room && !room.byId.has(str(frame.id))) startStream(room, frame);
  }],
  ["agent_delta", (frame) => {
    const room = roomOf(frame);
    const entry = room && room.byId.get(str(frame.id));
    if (entry && entry.streaming) appendDelta(room, entry, str(frame.text));
  }],
  ["agent_done", agentDone],
  ["agent_error", agentError],
  ["error", refused],
  ["ping", () => send({ type: "pong" })], // the heartbeat: any frame proves we are alive
  ["pong", () => {}],
]);

/** Handle one text frame; frames of unknown types are ignored (newer servers add some). */
export function dispatch(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    showError("The server sent a frame that is not JSON.");
    return;
  }
  if (frame && typeof frame === "object" && HANDLERS.has(frame.type)) HANDLERS.get(frame.type)(frame);
}
