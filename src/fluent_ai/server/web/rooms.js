// Rooms on screen: their messages, members and typing line, and the two room lists.

import { el, formatTime, setEnabled, str, ui } from "./dom.js";
import { state } from "./state.js";

const TYPING_STALE_MS = 30000; // drop an indicator whose expiry never arrived
const STATUSES = new Set(["online", "away", "dnd"]);

/** A joined room. Each entry keeps its own <li>, so switching rooms re-attaches them. */
export function newRoom(name, agent) {
  return {
    name,
    agent,
    entries: [], // {id, clientId, user, pending, streaming, li, textNode, note}
    byId: new Map(),
    byClientId: new Map(),
    members: new Map(), // user -> online | away | dnd
    typing: new Map(), // user -> stale timer
    unread: 0,
    olderAsked: "", // the id an earlier-history request is pending for
    oldestReached: false,
  };
}

export function showRoom(name) {
  state.current = name;
  const room = state.rooms.get(name);
  ui.roomTitle.textContent = room ? room.name : "No room";
  ui.roomAgent.hidden = !(room && room.agent);
  ui.roomAgent.textContent = room && room.agent ? `agent: ${room.agent}` : "";
  if (room) room.unread = 0;
  ui.messages.replaceChildren(...(room ? room.entries.map((entry) => entry.li) : []));
  scrollToEnd();
  renderMembers();
  renderTyping();
  renderJoined();
  setEnabled();
}

/** The rooms this page has joined, with unread counts. */
export function renderJoined() {
  const items = [];
  for (const room of state.rooms.values()) {
    const li = el("li", room.name === state.current ? "current" : "");
    const button = el("button", "room-button", room.name);
    button.type = "button";
    button.addEventListener("click", () => showRoom(room.name));
    li.append(button);
    if (room.unread > 0) li.append(el("span", "badge", String(room.unread)));
    items.push(li);
  }
  ui.joinedRooms.replaceChildren(...items);
}

/** The server's list of rooms with members; ``pick(name)`` joins or shows one. */
export function renderRoomList(rooms, pick) {
  const items = [];
  for (const item of Array.isArray(rooms) ? rooms : []) {
    const name = str(item && item.room);
    if (!name) continue;
    const button = el("button", "room-button", name);
    button.type = "button";
    button.addEventListener("click", () => pick(name));
    const count = Number(item.members) || 0;
    const li = el("li");
    li.append(button, el("span", "count", `${count} ${count === 1 ? "member" : "members"}`));
    items.push(li);
  }
  if (items.length === 0) items.push(el("li", "muted", "No active rooms."));
  ui.roomList.replaceChildren(...items);
}

// -- messages ------------------------------------------------------------------------

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

/** An entry (and its <li>) for a message event, a history item or our own pending text. */
export function buildEntry(room, fields) {
  const entry = {
    id: str(fields.id),
    clientId: str(fields.client_id),
    user: str(fields.user),
    pending: false,
    streaming: false,
    li: el("li", "message"),
    textNode: document.createTextNode(str(fields.text)),
    note: el("span", "note"),
    time: el("time", "ts"),
  };
  if (entry.user === state.user) entry.li.classList.add("mine");
  if (entry.user.startsWith("agent:")) entry.li.classList.add("agent");
  setTime(entry, fields.ts);
  const meta = el("div", "meta");
  meta.append(el("span", "author", entry.user), entry.time, entry.note);
  const body = el("div", "text");
  body.append(entry.textNode);
  entry.li.append(meta, body);
  if (entry.id) {
    entry.li.dataset.id = entry.id;
    room.byId.set(entry.id, entry);
  }
  if (entry.clientId) room.byClientId.set(entry.clientId, entry);
  return entry;
}

function setTime(entry, timestamp) {
  entry.time.textContent = formatTime(timestamp);
  entry.time.dateTime = str(timestamp);
}

export function appendEntry(room, entry) {
  room.entries.push(entry);
  if (room.name !== state.current) {
    room.unread += 1;
    renderJoined();
    return;
  }
  const list = ui.messages;
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(entry.li);
  if (atEnd || entry.user === state.user) scrollToEnd();
}

/** A ``message`` event: confirms our pending copy, or adds a new message once. */
export function addMessage(room, fields) {
  const id = str(fields.id);
  const pending = room.byClientId.get(str(fields.client_id));
  if (pending && pending.pending && str(fields.user) === state.user) {
    pending.pending = false;
    pending.id = id;
    pending.li.dataset.id = id;
    pending.li.classList.remove("pending");
    pending.note.textContent = "";
    setTime(pending, fields.ts);
    room.byId.set(id, pending);
    return;
  }
  const known = id && room.byId.get(id);
  if (known) {
    if (!known.streaming) known.textNode.data = str(fields.text);
    return;
  }
  appendEntry(room, buildEntry(room, fields));
}

/** Earlier messages (a ``history`` reply), put above the others without moving the view. */
export function prependOlder(room, messages) {
  const older = [];
  for (const message of Array.isArray(messages) ? messages : []) {
    if (message && typeof message === "object" && !room.byId.has(str(message.id))) {
      older.push(buildEntry(room, message));
    }
  }
  room.olderAsked = "";
  room.oldestReached = older.length === 0;
  room.entries.unshift(...older);
  if (room.name === state.current && older.length) {
    const height = ui.messages.scrollHeight;
    ui.messages.prepend(...older.map((entry) => entry.li));
    ui.messages.scrollTop += ui.messages.scrollHeight - height;
  }
}

export function markFailed(entry, why) {
  entry.pending = false;
  entry.li.classList.remove("pending");
  entry.li.classList.add("failed");
  entry.note.textContent = why;
}

export function startStream(room, fields) {
  const entry = buildEntry(room, { ...fields, text: "", ts: new Date().toISOString() });
  entry.streaming = true;
  entry.li.classList.add("agent", "streaming");
  appendEntry(room, entry);
}

export function appendDelta(room, entry, text) {
  entry.textNode.appendData(text);
  if (room.name === state.current) scrollToEnd();
}

export function finishStream(entry, text, problem) {
  entry.streaming = false;
  entry.li.classList.remove("streaming");
  if (text) entry.textNode.data = text;
  if (problem) {
    entry.li.classList.add("failed");
    entry.note.textContent = problem;
  }
}

/** The connection closed: nothing pending will be confirmed, no reply will finish. */
export function interruptAll() {
  for (const room of state.rooms.values()) {
    for (const entry of room.entries) {
      if (entry.pending) markFailed(entry, "not sent: the connection closed");
      if (entry.streaming) finishStream(entry, "", "interrupted: the connection closed");
    }
    for (const timer of room.typing.values()) window.clearTimeout(timer);
    room.typing.clear();
  }
  renderTyping();
}

// -- members and typing --------------------------------------------------------------

export function setMembers(room, members) {
  room.members.clear();
  for (const member of Array.isArray(members) ? members : []) {
    const user = str(member && member.user);
    const status = str(member && member.status);
    if (user && status !== "offline") room.members.set(user, STATUSES.has(status) ? status : "online");
  }
  if (room.name === state.current) renderMembers();
}

/** A ``presence`` event: offline removes the member (and their typing), others update. */
export function setPresence(room, user, status) {
  if (status === "offline") {
    room.members.delete(user);
    setTyping(room, user, false);
  } else if (STATUSES.has(status)) {
    room.members.set(user, status);
  }
  if (room.name === state.current) renderMembers();
}

function renderMembers() {
  const room = state.rooms.get(state.current);
  const items = [];
  for (const user of room ? [...room.members.keys()].sort() : []) {
    const status = room.members.get(user);
    const li = el("li", "member");
    li.dataset.status = status;
    const dot = el("span", "dot");
    dot.dataset.status = status;
    const name = el("span", "name", user);
    li.append(dot, name, el("span", "presence", status));
    if (user === state.user) name.after(el("span", "you", "(you)"));
    items.push(li);
  }
  ui.members.replaceChildren(...items);
}

export function setTyping(room, user, typing) {
  window.clearTimeout(room.typing.get(user));
  room.typing.delete(user);
  if (typing) {
    room.typing.set(user, window.setTimeout(() => setTyping(room, user, false), TYPING_STALE_MS));
  }
  if (room.name === state.current) renderTyping();
}

function renderTyping() {
  const room = state.rooms.get(state.current);
  const names = room ? [...room.typing.keys()].sort() : [];
  let line = "";
  if (names.length === 1) line = `${names[0]} is typing…`;
  else if (names.length === 2) line = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) line = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  ui.typing.textContent = line;
}
