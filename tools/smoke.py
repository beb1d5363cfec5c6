"""Smoke test after a deploy (or against the local runtime): a short journey through the official SDKs and a signed
webhook, read back through the API as an agent would, then erased.

    make smoke API_URL=https://... WRITE_KEY=... TOKEN=<staff access token> META_APP_SECRET=...
    python -m tools.smoke --api-url ... --write-key ... --token ... --meta-app-secret ... [--keep]

The journey uses identities that cannot belong to anyone (``smoke-<run>@smoke.invalid``, a Messenger id that is
not a number), touches no cart and sends no order, so it never merges into a real customer nor moves a KPI; with an
admin token it erases its profile afterwards (``--keep`` leaves it). Exit code 0 when every step did what it should.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

SMOKE_DOMAIN = "smoke.invalid"  # RFC 2606: never a real mailbox


@dataclass
class Journey:
    run: str

    @property
    def user_id(self) -> str:
        return f"smoke-{self.run}"

    @property
    def email(self) -> str:
        return f"smoke-{self.run}@{SMOKE_DOMAIN}"

    @property
    def psid(self) -> str:
        return f"smoke-psid-{self.run}"  # a real page-scoped id is a number


@dataclass
class Report:
    say: Callable[[str], None] = print
    failures: list[str] = field(default_factory=list)

    def step(self, ok: bool, what: str, detail: str = "") -> bool:
        self.say(f"{'ok ' if ok else 'BAD'} {what}" + (f"\n      {detail}" if detail else ""))
        if not ok:
            self.failures.append(what)
        return ok


class Smoke:
    def __init__(self, api_url: str, write_key: str, token: str, meta_app_secret: str, *, report: Report) -> None:
        self.api = api_url.rstrip("/")
        self.write_key = write_key
        self.staff = {"Authorization": f"Bearer {token}"}
        self.meta_app_secret = meta_app_secret
        self.report = report

    # ---------------------------------------------------------------- sending
    def settings(self) -> bool:
        answer = requests.get(f"{self.api}/v1/projects/{self.write_key}/settings", timeout=30)
        if answer.status_code != 200:
            return self.report.step(False, "analytics.js settings", f"{answer.status_code} {answer.text[:200]}")
        segment_io = answer.json()["integrations"]["Segment.io"]
        expected = urlsplit(self.api).netloc + urlsplit(self.api).path + "/v1"
        return self.report.step(
            segment_io["apiHost"] == expected,
            f"analytics.js settings point Segment.io at {segment_io['protocol']}://{segment_io['apiHost']}",
        )

    def segment_sdk(self, journey: Journey) -> bool:
        from segment.analytics.client import Client

        errors: list[Exception] = []
        client = Client(
            write_key=self.write_key, host=self.api, on_error=lambda error, _batch: errors.append(error), max_retries=2
        )
        # The Messenger id as an external id: the webhook below links to this profile through it
        external = [{"id": journey.psid, "type": "messenger", "collection": "users", "encoding": "none"}]
        client.identify(
            journey.user_id, {"email": journey.email, "name": "Smoke Test"}, context={"externalIds": external}
        )
        client.track(journey.user_id, "Product Viewed", {"product_id": "SMOKE-1", "smoke_run": journey.run})
        client.flush()
        client.join()
        return self.report.step(not errors, "segment-analytics-python: identify and track", "; ".join(map(str, errors)))

    def rudder_sdk(self, journey: Journey) -> bool:
        from rudderstack.analytics.client import Client

        errors: list[Exception] = []
        client = Client(
            write_key=self.write_key,
            host=self.api,
            on_error=lambda error, _batch: errors.append(error),
            max_retries=2,
        )
        client.track(journey.user_id, "Products Searched", {"query": "smoke", "smoke_run": journey.run})
        client.flush()
        client.join()
        return self.report.step(not errors, "rudder-sdk-python: track", "; ".join(map(str, errors)))

    def messenger_webhook(self, journey: Journey) -> bool:
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": "smoke-page",
                        "time": int(time.time() * 1000),
                        "messaging": [
                            {
                                "sender": {"id": journey.psid},
                                "recipient": {"id": "smoke-page"},
                                "timestamp": int(time.time() * 1000),
                                "message": {"mid": f"m_smoke_{journey.run}", "text": "smoke test"},
                            }
                        ],
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(self.meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
        answer = requests.post(
            f"{self.api}/webhooks/messenger",
            data=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            timeout=30,
        )
        hint = " (is META_APP_SECRET the meta_app_secret of CaptureSecrets?)" if answer.status_code == 401 else ""
        return self.report.step(
            answer.status_code == 200, "signed Messenger webhook", f"{answer.status_code} {answer.text[:200]}{hint}"
        )

    # ---------------------------------------------------------------- reading back
    def read_back(self, journey: Journey, timeout: float) -> dict[str, Any] | None:
        """The profile holding every identifier and all four events, once it does (or None at ``timeout``)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            found = requests.get(
                f"{self.api}/profiles", params={"email": journey.email}, headers=self.staff, timeout=30
            )
            if found.status_code in (401, 403):
                self.report.step(
                    False, "read back", f"{found.status_code}: TOKEN must be a staff (agent or admin) token"
                )
                return None
            if found.status_code == 200:
                profile: dict[str, Any] = found.json()
                timeline = requests.get(
                    f"{self.api}/profiles/{profile['profile_id']}/timeline", headers=self.staff, timeout=30
                ).json()
                names = sorted(str(event.get("name") or event["type"]) for event in timeline.get("events", []))
                identifiers = profile.get("identifiers", {})
                last = f"identifiers {sorted(identifiers)}, events {names}"
                if (
                    journey.psid in identifiers.get("messenger", [])
                    and journey.user_id in identifiers.get("user_id", [])
                    and "messenger" in profile.get("channels", [])  # the message itself was resolved, not only read
                    and {"identify", "Product Viewed", "Products Searched", "Message Received"} <= set(names)
                ):
                    profile["events"] = names
                    return profile
            else:
                last = f"{found.status_code} {found.text[:120]}"
            time.sleep(2)
        self.report.step(False, f"read back within {timeout:.0f} s", last)
        return None

    def erase(self, journey: Journey, profile_id: str, quiet_seconds: float = 8.0, limit: float = 120.0) -> None:
        """Erase the smoke profile, then any profile the smoke identities resolve to again (an event still on its
        way when the erasure ran makes a new one), until none has come back for ``quiet_seconds``."""
        erased: list[str] = []
        deadline = time.monotonic() + limit
        quiet_since = time.monotonic()
        pending: str | None = profile_id
        while time.monotonic() < deadline:
            if pending is not None:
                answer = requests.delete(f"{self.api}/profiles/{pending}", headers=self.staff, timeout=30)
                if answer.status_code == 403:
                    self.report.say(f"note: profile {pending} left in place (erasing needs an admin token)")
                    return
                if answer.status_code not in (200, 410):
                    self.report.step(False, "erase the smoke profile", f"{answer.status_code} {answer.text[:200]}")
                    return
                erased.append(pending)
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                self.report.step(True, f"erased the smoke profile ({len(erased)} erasure(s), nothing came back)")
                return
            time.sleep(2)
            pending = self._resolved_again(journey)
        self.report.step(False, f"erase the smoke profile: it kept coming back for {limit:.0f} s")

    def _resolved_again(self, journey: Journey) -> str | None:
        for identifier in (f"user_id:{journey.user_id}", f"messenger:{journey.psid}", f"email:{journey.email}"):
            found = requests.get(
                f"{self.api}/profiles", params={"identifier": identifier}, headers=self.staff, timeout=30
            )
            if found.status_code == 200:
                return str(found.json()["profile_id"])
        return None


def run(
    api_url: str,
    write_key: str,
    token: str,
    meta_app_secret: str,
    *,
    keep: bool = False,
    timeout: float = 120.0,
    say: Callable[[str], None] = print,
) -> int:
    journey = Journey(uuid.uuid4().hex[:10])
    report = Report(say)
    smoke = Smoke(api_url, write_key, token, meta_app_secret, report=report)
    say(f"smoke test of {api_url} (run {journey.run}, {journey.email})")
    sent = [smoke.settings(), smoke.segment_sdk(journey), smoke.rudder_sdk(journey), smoke.messenger_webhook(journey)]
    if all(sent):
        profile = smoke.read_back(journey, timeout)
        if profile is not None:
            report.step(
                True,
                f"one profile ({profile['profile_id']}) holds the SDK calls and the message",
                f"identifiers {', '.join(sorted(profile['identifiers']))}; events {', '.join(profile['events'])}",
            )
            if not keep:
                smoke.erase(journey, profile["profile_id"])
    say("smoke test passed" if not report.failures else f"smoke test FAILED: {', '.join(report.failures)}")
    return 0 if not report.failures else 1


def _local_token(api_url: str) -> str:
    """Against the local runtime (a loopback URL) an empty TOKEN means a development admin token."""
    if urlsplit(api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("TOKEN=: a staff access token of the stack's user pool (admin to erase the smoke profile)")
    from local_runtime.auth import DevJwt
    from local_runtime.runtime import load_config

    return DevJwt.from_config(load_config(None)).issue("admin", sub="smoke-test")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True, help="the stack's ApiUrl output (or the local runtime's URL)")
    parser.add_argument("--write-key", required=True, help="a write key of CaptureSecrets")
    parser.add_argument("--token", default="", help="a staff access token (admin: the smoke profile is erased)")
    parser.add_argument("--meta-app-secret", required=True, help="meta_app_secret of CaptureSecrets")
    parser.add_argument("--keep", action="store_true", help="leave the smoke profile in place")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the profile (default 120)")
    args = parser.parse_args(argv)
    if not args.api_url.startswith(("http://", "https://")):
        parser.error("API_URL must be an http(s) URL, e.g. the stack's ApiUrl output")
    token = args.token or _local_token(args.api_url)
    return run(args.api_url, args.write_key, token, args.meta_app_secret, keep=args.keep, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
