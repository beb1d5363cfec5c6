// Managed login (Cognito's hosted sign-in pages) with the OAuth 2.0 code flow and PKCE, when the stack has it on
// (ConsoleCallbackUrls set): the console asks /console/sign-in.json where managed login is and for which client.
//   sign in:  a random verifier, its SHA-256 challenge and a state go with the browser to <managed login>/oauth2/authorize
//   back:     ?code=&state= on /console; the code and the verifier buy the tokens at <managed login>/oauth2/token
//   sign out: <managed login>/logout, back to /console
// The access token is used as a pasted one would be (sessionStorage, this tab only).

import { setToken } from "./api.js";

const FLOW_KEY = "omnichannel.console.pkce";
const SCOPES = "openid email profile";

function redirectUri() {
  return `${window.location.origin}/console`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 48) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

export async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

/** {managedLogin, clientId} when the stack has managed login for the console, else null. */
export async function managedLogin() {
  try {
    const response = await fetch("/console/sign-in.json", { headers: { Accept: "application/json" } });
    if (!response.ok) return null;
    const config = await response.json();
    return config.managedLogin && config.clientId ? config : null;
  } catch {
    return null;
  }
}

/** Off to managed login; it comes back to /console?code=...&state=... */
export async function startSignIn(config) {
  const verifier = randomText();
  const state = randomText(24);
  sessionStorage.setItem(FLOW_KEY, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", config.managedLogin);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: SCOPES,
    state,
    code_challenge_method: "S256",
    code_challenge: await challengeOf(verifier),
  }).toString();
  window.location.assign(url.toString());
}

/** On the way back from managed login: trade the code for tokens. Returns null when this is no such return,
 * else an error message ("" when signed in). The code leaves the address bar either way. */
export async function finishSignIn(config) {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const flow = JSON.parse(sessionStorage.getItem(FLOW_KEY) || "null");
  sessionStorage.removeItem(FLOW_KEY);
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.hash}`);
  if (params.has("error")) return `Sign-in was refused: ${params.get("error_description") || params.get("error")}`;
  if (!config || !flow || flow.state !== params.get("state")) return "Sign-in did not start here; try again.";
  const response = await fetch(new URL("/oauth2/token", config.managedLogin), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.clientId,
      code: params.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: flow.verifier,
    }).toString(),
  });
  if (!response.ok) return `Sign-in failed at the token endpoint (HTTP ${response.status}).`;
  const tokens = await response.json();
  setToken(tokens.access_token);
  return "";
}

export function signOutUrl(config) {
  const url = new URL("/logout", config.managedLogin);
  url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: redirectUri() }).toString();
  return url.toString();
}
