// What the page knows: one object every module reads and updates.

export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const state = {
  key: "", // the API key or JWT; also kept in sessionStorage, never in a URL
  socket: null,
  ready: false, // authenticated: the server said "ready"
  user: "", // who the server says we are
  wantConnected: false, // reconnect after a drop while true
  attempts: 0, // reconnects since the last "ready" (drives the backoff)
  rooms: new Map(), // name -> room (rooms.js newRoom)
  current: "", // the room on screen
  presence: "online",
  typing: { room: "", sentAt: 0, idle: 0 }, // our own "typing" in the composer's room
};

/** Send one frame if the socket is open; false when it was not sent. */
export function send(frame) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(frame));
  return true;
}
