// The fluent-ai chat page: plain DOM modules, no framework, no network beyond this server.
//
// Safety rule: every string from the server or a user reaches the page through
// textContent / createTextNode, never as HTML. The page's Content-Security-Policy (no
// inline code, Trusted Types required) backs the rule up in the browser.

import { savedKey, signIn, signOut } from "./connection.js";
import { clearError, setEnabled, showError, ui } from "./dom.js";
import { joinRoom } from "./events.js";
import { appendEntry, buildEntry } from "./rooms.js";
import { search } from "./search.js";
import { send, state } from "./state.js";

const TYPING_RENEW_MS = 2000; // resend "typing" this often while keys keep coming
const TYPING_IDLE_MS = 4000; // then say "stopped" after this much quiet
const typing = state.typing;
let sequence = 0;

function sendMessage() {
  const room = state.rooms.get(state.current);
  const text = ui.messageInput.value;
  if (!room || !text.trim()) return;
  sequence += 1;
  const clientId = `c${Date.now().toString(36)}-${sequence}`;
  if (!send({ type: "message", room: room.name, text, client_id: clientId })) {
    showError("Not connected: the message was not sent.");
    return;
  }
  const entry = buildEntry(room, { client_id: clientId, user: state.user, text });
  entry.pending = true;
  entry.li.classList.add("pending");
  entry.note.textContent = "sending…";
  appendEntry(room, entry);
  ui.messageInput.value = "";
  stopTyping();
}

function typed() {
  window.clearTimeout(typing.idle);
  const room = state.current;
  if (!state.rooms.has(room) || !ui.messageInput.value.trim()) {
    stopTyping();
    return;
  }
  if (typing.room !== room) stopTyping();
  const now = Date.now();
  if (now - typing.sentAt >= TYPING_RENEW_MS && send({ type: "typing", room, typing: true })) {
    typing.room = room;
    typing.sentAt = now;
  }
  typing.idle = window.setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  window.clearTimeout(typing.idle);
  if (typing.room && state.rooms.has(typing.room)) {
    send({ type: "typing", room: typing.room, typing: false });
  }
  typing.room = "";
  typing.sentAt = 0;
}

function loadOlder() {
  const room = state.rooms.get(state.current);
  if (ui.messages.scrollTop > 0 || !room || room.oldestReached || room.olderAsked) return;
  const oldest = room.entries.length ? room.entries[0].id : "";
  if (oldest && send({ type: "history", room: room.name, before: oldest, limit: 50 })) {
    room.olderAsked = oldest;
  }
}

function onSubmit(form, action) {
  form.addEventListener("submit", (event) => {
    event.preventDefault(); // nothing is ever submitted: the key must not reach a URL
    action();
  });
}

onSubmit(ui.keyForm, () => {
  const key = ui.keyInput.value.trim();
  if (key) signIn(key);
  else showError("Enter an API key (fa-…) or a JWT with the 'chat' scope.");
});
onSubmit(ui.joinForm, () => joinRoom(ui.roomInput.value.trim(), ui.agentInput.value.trim()));
onSubmit(ui.composer, sendMessage);
onSubmit(ui.searchForm, () => {
  const query = ui.searchInput.value.trim();
  if (query && state.key) search(query);
});
ui.disconnectButton.addEventListener("click", signOut);
ui.errorDismiss.addEventListener("click", clearError);
ui.roomsRefresh.addEventListener("click", () => send({ type: "rooms" }));
ui.leaveButton.addEventListener("click", () => {
  if (state.rooms.has(state.current)) send({ type: "leave", room: state.current });
});
ui.presenceSelect.addEventListener("change", () => {
  state.presence = ui.presenceSelect.value;
  send({ type: "presence", status: state.presence });
});
ui.messageInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});
ui.messageInput.addEventListener("input", typed);
ui.messages.addEventListener("scroll", loadOlder);

const key = savedKey();
if (key) {
  ui.keyInput.value = key;
  signIn(key);
}
setEnabled();
