// The console's shell: sign-in (managed login on AWS when configured, a pasted token, or locally the dev
// sign-in), navigation and hash routes.
//   #/search  #/customers/<profile_id>  #/redeem[/<code>]  #/kpis  #/journeys[/<journey_id>]

import { claims, devSignIn, devSignInAvailable, expired, roleOf, setToken, token } from "./api.js";
import { customerView, redeemView, searchView } from "./customer.js";
import { clear, h } from "./format.js";
import { journeysView } from "./journeys.js";
import { kpiView } from "./kpis.js";
import { finishSignIn, managedLogin, signOutUrl, startSignIn } from "./signin.js";

let login = null; // {managedLogin, clientId} when the stack signs staff in with managed login
let signInProblem = "";

const main = document.getElementById("main");
const who = document.getElementById("who");
const nav = document.getElementById("nav");

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function signedIn() {
  const found = claims();
  return Boolean(token()) && found !== null && !expired(found) && ["agent", "admin"].includes(roleOf(found));
}

async function signInView() {
  nav.hidden = true;
  clear(who);
  const status = h("p.status", { role: "status", "aria-live": "polite", id: "signin-status" });
  const field = h("textarea#token", { rows: 4, required: true, spellcheck: "false", autocomplete: "off" });
  const form = h("form#signin-form", {},
    h("div.field", {}, h("label", { for: "token" }, "Access token (staff: agent or admin)"), field),
    h("button.primary#signin-submit", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(field.value);
    if (signedIn()) route();
    else {
      status.textContent = "That token is not a valid, unexpired agent or admin token.";
      setToken(null);
    }
  });
  const dev = h("button#dev-signin", { type: "button", hidden: true }, "Dev sign-in (agent)");
  dev.addEventListener("click", async () => {
    try {
      await devSignIn("agent");
      route();
    } catch (error) {
      status.textContent = `Dev sign-in failed: ${error.message}`;
    }
  });
  const managed = h("button.primary#managed-signin", { type: "button", hidden: !login }, "Sign in");
  managed.addEventListener("click", () => startSignIn(login));
  status.textContent = signInProblem;
  clear(main, h("h1", {}, "Sign in"),
    h("p", {}, managed),
    h("p.lead", {}, login
      ? "Or paste a staff access token:"
      : "Paste a staff access token (`make token ROLE=agent` locally; on AWS, sign-in through managed login once the stack's ConsoleCallbackUrls is set)."),
    form, h("p", {}, dev), status);
  (login ? managed : field).focus();
  dev.hidden = !(await devSignInAvailable());
}

function header() {
  const found = claims();
  nav.hidden = false;
  const out = h("button#signout", { type: "button" }, "Sign out");
  out.addEventListener("click", () => {
    setToken(null);
    if (login) window.location.assign(signOutUrl(login)); // ends the managed-login session too
    else route();
  });
  clear(who, h("span", {}, `${found.sub} (${roleOf(found)})`), " ", out);
  const current = window.location.hash.split("/")[1] || "search";
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.section === current || (current === "customers" && link.dataset.section === "search")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route() {
  if (!signedIn()) {
    signInView();
    return;
  }
  header();
  const [, section, ...rest] = window.location.hash.split("/");
  main.dataset.view = section || "search";
  if (section === "customers" && rest[0]) customerView(main, decodeURIComponent(rest[0]), navigate);
  else if (section === "redeem") redeemView(main, navigate, decodeURIComponent(rest[0] || ""));
  else if (section === "kpis") kpiView(main, {});
  else if (section === "journeys") journeysView(main, decodeURIComponent(rest[0] || ""));
  else searchView(main, navigate);
  main.focus({ preventScroll: true });
}

async function start() {
  login = await managedLogin();
  signInProblem = (await finishSignIn(login)) || "";
  window.addEventListener("hashchange", route);
  route();
}

start();
