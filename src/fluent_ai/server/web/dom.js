// Building blocks for the page. Server data only ever reaches the DOM as text.

import { state } from "./state.js";

/** Every element with an id, by its camelCased id ("message-input" -> ui.messageInput). */
export const ui = {};
for (const node of document.querySelectorAll("[id]")) {
  ui[node.id.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase())] = node;
}

/** ``value`` when it is a string, else "": server frames are not trusted to be well typed. */
export const str = (value) => (typeof value === "string" ? value : "");

/** A new element; ``text`` (if given) is set as text, never parsed as HTML. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatTime(timestamp) {
  const date = new Date(str(timestamp));
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
}

export function showError(message) {
  ui.errorText.textContent = message;
  ui.error.hidden = false;
}

export function clearError() {
  ui.errorText.textContent = "";
  ui.error.hidden = true;
}

export function setStatus(kind, label) {
  ui.connectionStatus.dataset.state = kind;
  ui.connectionStatus.textContent = label;
}

/** Enable exactly the controls that can work in the current state. */
export function setEnabled() {
  const live = state.ready;
  const inRoom = live && state.rooms.has(state.current);
  for (const control of [ui.roomInput, ui.agentInput, ui.joinButton, ui.roomsRefresh]) {
    control.disabled = !live;
  }
  ui.presenceSelect.disabled = !live;
  ui.messageInput.disabled = !inRoom;
  ui.sendButton.disabled = !inRoom;
  ui.leaveButton.hidden = !inRoom;
  ui.searchInput.disabled = !state.key;
  ui.searchButton.disabled = !state.key;
  ui.connectButton.hidden = state.wantConnected;
  ui.disconnectButton.hidden = !state.wantConnected;
  ui.keyInput.disabled = state.wantConnected;
}
