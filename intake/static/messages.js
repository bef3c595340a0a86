// Every user-facing string of the dashboard, in one place.
window.MESSAGES = {
  live: "live",
  offline: "offline",
  reconnecting: "reconnecting…",
  needToken: "This server needs an API token: paste it above and press Save token.",
  badToken: "The token was refused: check it and save it again.",
  tokenSaved: "Token saved in this browser.",
  tokenCleared: "Token cleared.",
  noAgent: "Choose an agent to act as first.",
  noAgents: "No agents yet: add one with PUT /v1/agents/{id}.",
  unreachable: "The server cannot be reached; retrying.",
  done: (action, id) => `${id}: ${{ claim: "claimed", complete: "completed", resolve: "resolved" }[action]}.`,
  failed: (action, id, message) => `${id}: ${action} refused: ${message}`,
  actions: { claim: "Claim", complete: "Complete", resolve: "Resolve" },
  load: (load, capacity) => `${load} / ${capacity}`,
  inactive: "inactive",
  ago: (seconds) => seconds < 60 ? `${Math.max(0, Math.round(seconds))}s`
    : seconds < 3600 ? `${Math.round(seconds / 60)}m`
    : seconds < 86400 ? `${Math.round(seconds / 3600)}h` : `${Math.round(seconds / 86400)}d`,
  event: (e) => {
    const who = e.actor ? ` by ${e.actor}` : "";
    const to = e.data && e.data.to ? ` → ${e.data.to}` : "";
    return `${e.type}${to}${who}`;
  },
};
