#!/usr/bin/env python3
"""A FHIR R4 Subscriptions receiver that no one on KMCR wrote: sekmet-fhir's own hook receiver, wrapped to record.

The end-to-end subscription tests point KMCR's Subscriptions at this program. Every request is handed to
sekmet-fhir's receiver: the routes `POST|PUT /hooks/{peer}/{key}[/{type}/{id}]` from
`sekmet.subscriptions.engine.build_hook_router`, on a real sekmet `AppContext` whose SQLite store lives in a
temporary directory. Every body also goes through `sekmet.subscriptions.backport.parse_notification()`. On top of
that, this program checks each backport notification against the rules that Inferno's subscriptions test kit
applies to an R4 server's notifications (lib/subscriptions_test_kit/common/notification_conformance_verification.rb).
sekmet itself is lenient (it takes camelCase names, valueInteger event numbers, entries without request/response),
so those checks are the strict half.

Usage:
  subscriber.py --port 0 --record FILE [--fail-first N] [--hook-token TOKEN]
      Serve on 127.0.0.1:PORT (0 = any free port). Prints `listening on http://127.0.0.1:PORT` (flushed) once the
      socket listens, then serves until killed. Appends one JSON line per request received to FILE:
        method, path, headers (lower-case names), body (parsed JSON or null), raw_body (only when not JSON),
        status (the HTTP status answered), sekmet (parse_notification's result, or {"error": ...} if it raised),
        sekmet_logged (the rows sekmet's receiver wrote to its notification log for this request; null when the
        request did not reach sekmet's receiver: a path outside /hooks/, or an answer forced by --fail-first),
        payload (the payload content implied for a backport notification: empty | id-only | full-resource; null
        otherwise), checks (the failed rules, "rule-id: detail"; empty when all pass).
      The line is written before the response is sent. The answer is always 200 (as sekmet's receiver answers),
      except the first N requests with --fail-first N, answered 503 (and not passed to sekmet).
  subscriber.py --print-subscription --topic URL --endpoint URL [--filter Q]... [--payload id-only|full-resource|empty]
                [--heartbeat SECONDS] [--header 'Name: value']...
      Prints the backport (topic-based) Subscription that sekmet's `backport.build_subscription()` builds.
  subscriber.py --print-classic --criteria 'Encounter?patient=Patient/ID' --endpoint URL [--payload MIME]
                [--hook-token TOKEN]
      Prints the classic R4 Subscription that sekmet's `register_remote()` builds and would POST to a peer (the POST
      is captured here, not sent). When --endpoint has the form ROOT/hooks/PEER/KEY, it is the Subscription's
      endpoint as given; otherwise it is taken as the receiver's root URL and sekmet makes the endpoint
      ROOT/hooks/kmcr/<random key>. sekmet adds the channel header `Authorization: Bearer <hook token>`.
  subscriber.py --self-test
      Feeds the IG's example notifications in examples/ (and a few deliberately wrong ones) through the receiver
      in-process; exits non-zero if sekmet fails to parse a good one or the checks misjudge any of them.

sekmet's receiver, on an id-only event notification, reads the focus resource back from the peer named in the hook
path when that peer is configured with fetch_on_ping (the default), and on an empty classic POST searches the peer
for changes. Here no peer is configured (sekmet then fetches nothing), and its built-in loopback peer `self` is
configured with fetch_on_ping off, so sekmet never calls out: recording does not depend on reaching KMCR.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_HOOK_TOKEN = "kmcr-subscriber-hook-token"
PEER = "kmcr"  # the peer name sekmet's register_remote puts in hook paths (unconfigured here: no fetches)

NOTIFICATION_TYPES = {"handshake", "heartbeat", "event-notification", "query-status", "query-event"}
SUBSCRIPTION_STATUSES = {"requested", "active", "error", "off"}
STATUS_URL = re.compile(r"Subscription/[^/]+/\$status\Z")
DIGITS = re.compile(r"\A[0-9]+\Z")
# FHIR instant: a dateTime to the second (or finer) with a time zone.
INSTANT = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})\Z")
REFERENCE = re.compile(r"(?:\A|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?\Z")


# ---------------------------------------------------------------- the Inferno rules ----------------------------

def _params(parameters: dict, name: str) -> list[dict]:
    return [p for p in parameters.get("parameter") or [] if isinstance(p, dict) and p.get("name") == name]


def _parts(event: dict, name: str) -> list[dict]:
    return [p for p in event.get("part") or [] if isinstance(p, dict) and p.get("name") == name]


def _value_keys(p: dict) -> list[str]:
    return [k for k in p if k.startswith("value")]


def _ref_type_id(reference: str) -> tuple[str, str] | None:
    m = REFERENCE.search(reference or "")
    return (m.group("type"), m.group("id")) if m else None


def is_backport(body: Any) -> bool:
    """A backport R4 notification: a Bundle whose first entry's resource is a Parameters."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return False
    entries = body.get("entry") or []
    first = entries[0] if entries and isinstance(entries[0], dict) else {}
    return isinstance(first.get("resource"), dict) and first["resource"].get("resourceType") == "Parameters"


def payload_kind(body: dict) -> str:
    """The payload content a backport notification implies (the content code is not in the notification)."""
    extra = [e for e in (body.get("entry") or [])[1:] if isinstance(e, dict)]
    if any(isinstance(e.get("resource"), dict) for e in extra):
        return "full-resource"
    if extra:
        return "id-only"
    events = _params(body["entry"][0]["resource"], "notification-event")
    if any(_parts(ev, "focus") for ev in events):
        return "id-only"
    return "empty"


def _resolves(reference: str, entries: list[dict]) -> dict | None:
    """Inferno: a urn: reference resolves by fullUrl, any other by the Type/id it contains."""
    for e in entries:
        if e.get("fullUrl") == reference:
            return e
    if reference.startswith("urn:"):
        return None
    target = _ref_type_id(reference)
    if target is None:
        return None
    for e in entries:
        r = e.get("resource") if isinstance(e.get("resource"), dict) else {}
        if (r.get("resourceType"), r.get("id")) == target:
            return e
        if _ref_type_id(e.get("fullUrl") or "") == target:
            return e
    return None


def backport_checks(body: dict) -> list[str]:
    """Failed rules for a backport notification Bundle (is_backport(body) holds)."""
    fails: list[str] = []
    if body.get("type") != "history":
        fails.append(f"bundle-type-history: Bundle.type is {body.get('type')!r}")
    entries = [e if isinstance(e, dict) else {} for e in body.get("entry") or []]
    for i, e in enumerate(entries):
        if not isinstance(e.get("request"), dict) or not e["request"].get("method") or not e["request"].get("url"):
            fails.append(f"entry-request: entry[{i}] has no request (method and url)")
        if not isinstance(e.get("response"), dict) or not e["response"].get("status"):
            fails.append(f"entry-response: entry[{i}] has no response (status)")
    url = ((entries[0].get("request") or {}) if entries else {}).get("url") or ""
    if not STATUS_URL.search(url):
        fails.append(f"status-request-url: entry[0].request.url {url!r} does not end with Subscription/<id>/$status")

    params = entries[0]["resource"]

    def one(name: str, value_key: str) -> Any:
        ps = _params(params, name)
        if len(ps) != 1:
            fails.append(f"param-{name}: {len(ps)} parameter(s) named {name!r}, expected 1")
            return None
        if _value_keys(ps[0]) != [value_key]:
            fails.append(f"param-{name}: value is {_value_keys(ps[0]) or 'absent'}, expected {value_key}")
            return None
        return ps[0][value_key]

    sub = one("subscription", "valueReference")
    if sub is not None and not (isinstance(sub, dict) and sub.get("reference")):
        fails.append("param-subscription: valueReference has no reference")
    status = one("status", "valueCode")
    if status is not None and status not in SUBSCRIPTION_STATUSES:
        fails.append(f"param-status: {status!r} is not a subscription status")
    ntype = one("type", "valueCode")
    if ntype is not None and ntype not in NOTIFICATION_TYPES:
        fails.append(f"param-type: {ntype!r} is not a notification type")
    since = one("events-since-subscription-start", "valueString")
    if since is not None and not (isinstance(since, str) and DIGITS.match(since)):
        fails.append(f"param-events-since-subscription-start: {since!r} is not a string of digits")
    topics = _params(params, "topic")
    if len(topics) > 1 or any(_value_keys(t) != ["valueCanonical"] for t in topics):
        fails.append("param-topic: at most one topic, as valueCanonical")
    if ntype == "handshake" and status is not None and status != "requested":
        fails.append(f"handshake-status: a handshake carries status 'requested', not {status!r}")

    events = _params(params, "notification-event")
    for n, ev in enumerate(events):
        num = _parts(ev, "event-number")
        if len(num) != 1 or _value_keys(num[0]) != ["valueString"] or not DIGITS.match(str(num[0]["valueString"])):
            fails.append(f"event-number: notification-event[{n}] needs one event-number as a valueString of digits")
        ts = _parts(ev, "timestamp")
        if len(ts) != 1 or _value_keys(ts[0]) != ["valueInstant"] or not INSTANT.match(str(ts[0]["valueInstant"])):
            fails.append(f"event-timestamp: notification-event[{n}] needs one timestamp as a valueInstant")
        for key in ("focus", "additional-context"):
            for p in _parts(ev, key):
                if _value_keys(p) != ["valueReference"] or not (p.get("valueReference") or {}).get("reference"):
                    fails.append(f"event-{key}: notification-event[{n}] {key} is not a valueReference with reference")
    if ntype == "event-notification" and not events:
        fails.append("event-notification-events: an event-notification has no notification-event")

    kind = payload_kind(body)
    extra = entries[1:]
    if kind == "empty":
        if extra:
            fails.append("empty-no-entries: entries besides the status entry")
        if any(_parts(ev, "focus") or _parts(ev, "additional-context") for ev in events):
            fails.append("empty-no-focus: focus or additional-context present")
    elif kind == "id-only":
        for n, ev in enumerate(events):
            if not _parts(ev, "focus"):
                fails.append(f"id-only-focus: notification-event[{n}] has no focus")
        for i, e in enumerate(extra, start=1):
            if "resource" in e:
                fails.append(f"id-only-no-resource: entry[{i}] has a resource")
            if not (e.get("fullUrl") or "").strip():
                fails.append(f"id-only-fullurl: entry[{i}] has no fullUrl")
    else:  # full-resource
        for n, ev in enumerate(events):
            if not _parts(ev, "focus"):
                fails.append(f"full-resource-focus: notification-event[{n}] has no focus")
            for key in ("focus", "additional-context"):
                for p in _parts(ev, key):
                    ref = (p.get("valueReference") or {}).get("reference") or ""
                    hit = _resolves(ref, extra)
                    if hit is None:
                        fails.append(f"full-resource-{key}-resolves: {ref!r} matches no entry")
                    elif not isinstance(hit.get("resource"), dict):
                        fails.append(f"full-resource-{key}-resource: the entry for {ref!r} has no resource")
    return fails


def classic_checks(method: str, path: str, body: Any, raw: bytes) -> list[str]:
    """Failed rules for a classic R4 rest-hook request: POST with no body, or PUT [endpoint]/Type/id with the
    resource."""
    if method == "POST":
        return [] if not raw.strip() else ["classic-post-empty: a classic rest-hook POST carries no body"]
    if method == "PUT":
        m = re.search(r"/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})\Z", path)
        if not isinstance(body, dict):
            return ["classic-put-body: the PUT body is not a JSON resource"]
        if m is None:
            return [f"classic-put-path: {path!r} does not end with /Type/id"]
        fails = []
        if body.get("resourceType") != m.group(1):
            fails.append(f"classic-put-type: body resourceType {body.get('resourceType')!r} "
                         f"!= path type {m.group(1)!r}")
        if body.get("id") != m.group(2):
            fails.append(f"classic-put-id: body id {body.get('id')!r} != path id {m.group(2)!r}")
        return fails
    return [f"classic-method: {method} is neither POST nor PUT"]


def checks_for(method: str, path: str, body: Any, raw: bytes) -> tuple[list[str], str | None]:
    if is_backport(body):
        return backport_checks(body), payload_kind(body)
    if isinstance(body, dict) and body.get("resourceType") == "Bundle" and body.get("type") == "history":
        return ["status-is-parameters: a history Bundle whose entry[0].resource is not a Parameters"], None
    return classic_checks(method, path, body, raw), None


# ---------------------------------------------------------------- sekmet ---------------------------------------

def sekmet_parse(body: Any) -> Any:
    from sekmet.subscriptions import backport

    try:
        return json.loads(json.dumps(backport.parse_notification(body), default=str))
    except Exception as e:  # noqa: BLE001 - recorded, not raised
        return {"error": f"{type(e).__name__}: {e}"}


def sekmet_context(workdir: str, hook_token: str):
    """A sekmet AppContext on a throw-away SQLite store, with no peers: its receiver never calls out."""
    from sekmet.config import Settings
    from sekmet.context import AppContext

    settings = Settings.model_validate({
        "base_url": "http://127.0.0.1:9/fhir",  # sekmet's own server base: never served or called here
        "data_dir": workdir,
        "db_path": str(Path(workdir) / "sekmet.db"),
        "simulator": {"enabled": False},
        "subscriptions": {"hook_token": hook_token},
        # sekmet treats an unconfigured peer name as "no peer" (no fetches), except `self`, its loopback peer,
        # which defaults to fetch_on_ping: configure it with fetching off.
        "peers": {"self": {"base_url": "http://127.0.0.1:9/fhir", "fetch_on_ping": False}},
    })
    return AppContext(settings)


def build_app(record: str, fail_first: int, hook_token: str, workdir: str):
    """sekmet's hook router plus a catch-all 200, wrapped by an ASGI layer that records every request."""
    from fastapi import FastAPI, Response
    from sekmet.subscriptions.engine import build_hook_router, notifications

    ctx = sekmet_context(workdir, hook_token)
    inner = FastAPI()
    inner.include_router(build_hook_router(lambda: ctx))

    @inner.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def elsewhere(rest: str):  # not a sekmet hook path: recorded, answered like sekmet
        return Response(status_code=200, media_type="application/fhir+json", content=json.dumps(
            {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational",
                                                            "diagnostics": "Notification received"}]}))

    lock = asyncio.Lock()
    state = {"seen": 0}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return await inner(scope, receive, send)
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        async with lock:
            state["seen"] += 1
            method, path = scope["method"], scope["path"]
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                body = json.loads(raw) if raw.strip() else None
                raw_text = None
            except ValueError:
                body, raw_text = None, raw.decode("utf-8", "replace")
            checks, kind = checks_for(method, path, body, raw)
            entry: dict[str, Any] = {"method": method, "path": path, "headers": headers, "body": body}
            if raw_text is not None:
                entry["raw_body"] = raw_text
            entry["sekmet"] = sekmet_parse(body)
            entry["payload"] = kind
            entry["checks"] = checks
            start: dict = {}
            chunks: list[bytes] = []
            if state["seen"] <= fail_first:
                start = {"type": "http.response.start", "status": 503,
                         "headers": [(b"content-type", b"text/plain")]}
                chunks = [b"failing on purpose (--fail-first)"]
                entry["sekmet_logged"] = None
            else:
                last = (ctx.store.query("SELECT COALESCE(MAX(id), 0) AS m FROM notifications")[0]["m"])
                sent = False

                async def replay():
                    nonlocal sent
                    if sent:
                        return {"type": "http.disconnect"}
                    sent = True
                    return {"type": "http.request", "body": raw, "more_body": False}

                async def capture(message):
                    if message["type"] == "http.response.start":
                        start.update(message)
                    elif message["type"] == "http.response.body":
                        chunks.append(message.get("body", b""))

                await inner(scope, replay, capture)
                routed = path.startswith("/hooks/") and method in ("POST", "PUT")
                rows = notifications(ctx.store, since_id=last, limit=1000) if routed else None
                entry["sekmet_logged"] = None if rows is None else [
                    {k: r.get(k) for k in ("kind", "method", "topic", "subscription", "resource_type", "resource_id")}
                    for r in reversed(rows)]
            entry["status"] = start.get("status")
            with open(record, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
                f.flush()
            body_out = b"".join(chunks)
            out_headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            out_headers.append((b"content-length", str(len(body_out)).encode()))
            await send({"type": "http.response.start", "status": start["status"], "headers": out_headers})
            await send({"type": "http.response.body", "body": body_out})

    return app


# ---------------------------------------------------------------- commands -------------------------------------

def serve(args) -> None:
    with tempfile.TemporaryDirectory(prefix="kmcr-subscriber-") as workdir:  # sekmet's store; gone on SIGTERM/SIGINT
        serve_in(args, workdir)


def serve_in(args, workdir: str) -> None:
    import uvicorn

    app = build_app(args.record, args.fail_first, args.hook_token, workdir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    port = sock.getsockname()[1]
    Path(args.record).touch()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)

    class Server(uvicorn.Server):
        """Shuts down on SIGTERM/SIGINT and returns (uvicorn re-raises the signal, which skips the clean-up)."""

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    Server(config).run(sockets=[sock])


def print_subscription(args) -> None:
    from sekmet.subscriptions import backport

    if not args.topic or not args.endpoint:
        sys.exit("--print-subscription needs --topic and --endpoint")
    if args.payload not in (None, "id-only", "full-resource", "empty"):
        sys.exit("--print-subscription: --payload is id-only, full-resource or empty")
    sub = backport.build_subscription(args.topic, args.endpoint, filters=args.filter or None,
                                      content=args.payload or "id-only", headers=args.header or None,
                                      heartbeat=args.heartbeat or None)
    print(json.dumps(sub, indent=2))


def print_classic(args) -> None:
    """Runs sekmet's register_remote() against a stand-in peer client that keeps the Subscription it is asked to
    POST."""
    from sekmet.config import Peer, PeerSubscription, Settings
    from sekmet.subscriptions import engine

    if not args.criteria or not args.endpoint:
        sys.exit("--print-classic needs --criteria and --endpoint")
    m = re.match(r"\A(?P<root>.+)/hooks/(?P<peer>[^/]+)/(?P<key>[^/]+)/?\Z", args.endpoint)
    root, peer_name = (m.group("root"), m.group("peer")) if m else (args.endpoint.rstrip("/"), PEER)
    if m:
        engine.secrets.token_hex = lambda _n=None: m.group("key")  # the key sekmet would have drawn
    settings = Settings.model_validate({
        "public_url": root, "subscriptions": {"hook_token": args.hook_token},
        "peers": {peer_name: Peer(base_url="http://127.0.0.1:9/fhir", fetch_on_ping=False,
                                  subscribe=[PeerSubscription(criteria=args.criteria, payload=args.payload or None)])},
    })
    captured: list[dict] = []

    class Created:
        ok, status = True, 201

        def __init__(self, resource):
            self.resource = resource

    class Client:
        def create(self, resource, if_none_exist=None):
            captured.append(resource)
            return Created(resource)

    class Store:
        def kv_set(self, key, value):
            pass

    class Ctx:
        pass

    ctx = Ctx()
    ctx.settings, ctx.store, ctx.peer_client = settings, Store(), lambda name: Client()
    engine.register_remote(ctx, peer_name)
    print(json.dumps(captured[0], indent=2))


def self_test() -> int:
    import httpx

    good = {  # file: (sekmet's type, implied payload)
        "r4-notification-handshake.json": ("handshake", "empty"),
        "r4-notification-heartbeat.json": ("heartbeat", "empty"),
        "r4-notification-id-only.json": ("event-notification", "id-only"),
        "r4-notification-id-only-with-entry.json": ("event-notification", "id-only"),
        "r4-notification-full-resource.json": ("event-notification", "full-resource"),
        "r4-notification-multi-resource.json": ("event-notification", "full-resource"),
        "r4-notification-empty.json": ("event-notification", "empty"),
    }
    examples = {name: json.loads((HERE / "examples" / name).read_text()) for name in good}
    full = examples["r4-notification-full-resource.json"]
    unresolved = json.loads(json.dumps(full))
    unresolved["entry"][1]["fullUrl"] = "https://example.org/fhir/Encounter/other"
    unresolved["entry"][1]["resource"]["id"] = "other"
    id_only_with_resource = json.loads(json.dumps(examples["r4-notification-id-only.json"]))
    id_only_with_resource["entry"].append({"request": {"method": "POST", "url": "Encounter"},
                                           "response": {"status": "201"}})
    wrong_url = json.loads(json.dumps(examples["r4-notification-handshake.json"]))
    wrong_url["entry"][0]["request"]["url"] = "https://example.org/fhir/Subscription/admission"
    bad = {  # name: (body, a rule that must fail)
        "bad-events-since-integer.json": (json.loads((HERE / "examples/bad-events-since-integer.json").read_text()),
                                          "param-events-since-subscription-start"),
        "bad-missing-request.json": (json.loads((HERE / "examples/bad-missing-request.json").read_text()),
                                     "entry-request"),
        "full-resource focus resolving to no entry": (unresolved, "full-resource-focus-resolves"),
        "id-only extra entry without fullUrl": (id_only_with_resource, "id-only-fullurl"),
        "status entry request not $status": (wrong_url, "status-request-url"),
    }
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kmcr-subscriber-selftest-") as tmp:
        record = str(Path(tmp) / "record.jsonl")
        app = build_app(record, 1, DEFAULT_HOOK_TOKEN, tmp)
        sent: list[tuple[str, str, str, Any]] = []  # (label, method, path, body)
        sent.append(("--fail-first", "POST", f"/hooks/{PEER}/k", examples["r4-notification-handshake.json"]))
        sent += [(n, "POST", f"/hooks/{PEER}/k", b) for n, b in examples.items()]
        sent += [(n, "POST", f"/hooks/{PEER}/k", b) for n, (b, _) in bad.items()]
        encounter = full["entry"][1]["resource"]
        sent.append(("classic POST", "POST", f"/hooks/{PEER}/k", None))
        sent.append(("classic PUT", "PUT", f"/hooks/{PEER}/k/Encounter/{encounter['id']}", encounter))
        sent.append(("classic PUT, wrong id", "PUT", f"/hooks/{PEER}/k/Encounter/not-it", encounter))
        sent.append(("outside /hooks/", "POST", "/not-a-hook", examples["r4-notification-heartbeat.json"]))

        async def run():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://subscriber") as client:
                out = []
                for _label, method, path, body in sent:
                    content = b"" if body is None else json.dumps(body).encode()
                    r = await client.request(method, path, content=content, headers={
                        "content-type": "application/fhir+json",
                        "authorization": f"Bearer {DEFAULT_HOOK_TOKEN}"})
                    out.append(r.status_code)
                return out

        statuses = asyncio.run(run())
        lines = [json.loads(line) for line in Path(record).read_text().splitlines()]
    if len(lines) != len(sent):
        failures.append(f"{len(sent)} requests sent, {len(lines)} lines recorded")
    for (label, _m, _p, _b), status, line in zip(sent, statuses, lines):
        want_status = 503 if label == "--fail-first" else 200
        if status != want_status or line["status"] != want_status:
            failures.append(f"{label}: answered {status} (recorded {line['status']}), expected {want_status}")
        if label in good:
            ntype, kind = good[label]
            parsed = line["sekmet"]
            if not isinstance(parsed, dict) or parsed.get("type") != ntype:
                failures.append(f"{label}: sekmet parsed {parsed!r}, expected type {ntype}")
            if line["payload"] != kind:
                failures.append(f"{label}: implied payload {line['payload']}, expected {kind}")
            if line["checks"]:
                failures.append(f"{label}: checks failed on an IG example: {line['checks']}")
            if not line["sekmet_logged"] or line["sekmet_logged"][0]["kind"] != ntype:
                failures.append(f"{label}: sekmet's receiver logged {line['sekmet_logged']!r}")
        elif label in bad:
            rule = bad[label][1]
            if not any(c.startswith(rule + ":") for c in line["checks"]):
                failures.append(f"{label}: rule {rule} did not fail (checks: {line['checks']})")
        elif label in ("--fail-first", "outside /hooks/"):  # recorded and parsed, but not passed to the receiver
            if line["sekmet_logged"] is not None or line["checks"] or not line["sekmet"] or not line["sekmet"]["type"]:
                failures.append(f"{label}: {line!r}")
        elif label == "classic PUT, wrong id":
            if line["checks"] != ["classic-put-id: body id '86009987-eabe-42bf-8c02-b112b18cb616' != path id 'not-it'"]:
                failures.append(f"{label}: checks {line['checks']}")
        else:  # classic POST, classic PUT
            if line["checks"] or line["sekmet"] is not None or not line["sekmet_logged"]:
                failures.append(f"{label}: {line!r}")
    for f in failures:
        print("FAIL", f)
    print(f"self-test: {len(sent) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--record", help="JSON-lines file to append one line per request to")
    p.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer 503 to the first N requests")
    p.add_argument("--hook-token", default=DEFAULT_HOOK_TOKEN, help="sekmet's hook bearer token")
    p.add_argument("--print-subscription", action="store_true")
    p.add_argument("--print-classic", action="store_true")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--topic")
    p.add_argument("--filter", action="append", help="backport filter criteria, e.g. Encounter?patient=Patient/1")
    p.add_argument("--criteria", help="classic criteria, e.g. Encounter?patient=Patient/1")
    p.add_argument("--endpoint")
    p.add_argument("--payload", help="backport: id-only|full-resource|empty; classic: a MIME type, or none")
    p.add_argument("--heartbeat", type=int, default=0, help="backport heartbeat period in seconds (0: none)")
    p.add_argument("--header", action="append", help="backport channel header 'Name: value'")
    args = p.parse_args()
    if args.self_test:
        sys.exit(self_test())
    if args.print_subscription:
        return print_subscription(args)
    if args.print_classic:
        return print_classic(args)
    if not args.record:
        p.error("--record FILE is required to serve")
    serve(args)


if __name__ == "__main__":
    main()
