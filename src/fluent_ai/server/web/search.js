// History search: GET v1/conversations/search with the key as a Bearer credential.

import { el, formatTime, showError, str, ui } from "./dom.js";
import { state } from "./state.js";

let latest = 0; // only the newest search may fill the results

export async function search(query) {
  const mine = ++latest;
  ui.searchStatus.textContent = "Searching…";
  ui.searchResults.replaceChildren();
  let response;
  let body = null;
  try {
    response = await fetch(`v1/conversations/search?q=${encodeURIComponent(query)}`, {
      headers: { Authorization: `Bearer ${state.key}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
    });
    body = await response.json().catch(() => null);
  } catch {
    if (mine === latest) {
      ui.searchStatus.textContent = "";
      showError("The search could not reach the server.");
    }
    return;
  }
  if (mine !== latest) return;
  if (!response.ok) {
    ui.searchStatus.textContent = "";
    showError(`Search failed: ${problem(body) || `HTTP ${response.status}`}`);
    return;
  }
  const hits = body && Array.isArray(body.data) ? body.data : [];
  ui.searchStatus.textContent = hits.length
    ? `${hits.length} found${body.has_more ? " (more exist: refine the query)" : ""}`
    : "Nothing found.";
  ui.searchResults.replaceChildren(...hits.map(renderHit));
}

function problem(body) {
  const error = body && typeof body === "object" ? body.error : null;
  return error && typeof error === "object" ? str(error.message) : "";
}

/** One hit: where and when, then the snippet as plain text (matches are in [brackets]). */
function renderHit(hit) {
  const meta = el("div", "meta");
  const time = el("time", "ts", formatTime(hit.created_at));
  meta.append(el("span", "where", str(hit.conversation_title) || str(hit.conversation_id)));
  meta.append(el("span", "role", str(hit.role)), time);
  const li = el("li", "hit");
  li.append(meta, el("div", "text", str(hit.snippet)));
  return li;
}
