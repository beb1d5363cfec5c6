// The product's own HTTP API, same origin, every call with the signed-in agent's bearer token.
// Every request is logged in `requests` (method, path, status): the e2e tests and bench/console.py read it.

const TOKEN_KEY = "omnichannel.console.token";

export const requests = [];
window.consoleRequests = requests;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.code)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The token's claims (not verified here: the API verifies every call), or null when it is not a JWT. */
export function claims(value = token()) {
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) =>
      c.charCodeAt(0),
    );
    return JSON.parse(new TextDecoder("utf-8").decode(bytes));
  } catch {
    return null;
  }
}

export function roleOf(found) {
  if (!found) return null;
  const groups = found["cognito:groups"] || [];
  const scopes = String(found.scope || "").split(" ");
  for (const role of ["admin", "agent"]) {
    if (found.token_use === "id") break; // staff routes refuse ID tokens
    if (groups.includes(role) || scopes.includes(`omnichannel/${role}`)) return role;
  }
  return "customer";
}

export function expired(found) {
  return Boolean(found && found.exp && found.exp * 1000 < Date.now());
}

export async function api(path, { method = "GET", params, body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json; charset=utf-8";
  const entry = { method, path: url.pathname + url.search, status: 0 };
  requests.push(entry);
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  entry.status = response.status;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Local runtime only: POST /_local/token issues a development token (404 on AWS, where it does not exist). */
export async function devSignIn(role = "agent") {
  const response = await fetch("/_local/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ role }),
  });
  if (!response.ok) throw new ApiError(response.status, null);
  const { token: issued } = await response.json();
  setToken(issued);
  return issued;
}

export async function devSignInAvailable() {
  try {
    const response = await fetch("/_local/token", { method: "POST", body: "{" });
    return response.status === 400; // the route exists (it refused the broken body)
  } catch {
    return false;
  }
}

/** The same view as CSV (Accept: text/csv), saved by the browser as a file; logged in `requests` like any call. */
export async function downloadCsv(path, params, filename) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const entry = { method: "GET", path: url.pathname + url.search, status: 0, accept: "text/csv" };
  requests.push(entry);
  const response = await fetch(url, { headers: { Accept: "text/csv", Authorization: `Bearer ${token()}` } });
  entry.status = response.status;
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, { message: text });
  entry.lines = text.split("\r\n").filter(Boolean).length;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  return text;
}
