#!/usr/bin/env python3
# Follows ../shared/contracts/carriers.md ("Telnyx", "Bandwidth" and "Plivo" number APIs and
# their message send calls) exactly.
"""A fake of one carrier's number and messaging API for tests, over real HTTP on loopback.

    carrier-fake.py --carrier telnyx|bandwidth|plivo [--port 0]
                    [--api-key K] [--user U] [--password P] [--account-id A]
                    [--application-id M] [--auth-id I] [--auth-token T]

Binds 127.0.0.1 (port 0: a free one), prints "READY <port>" on stdout once it
listens and nothing after. Exits when the process that started it is gone.

Carrier API, as the contract documents it (auth checked on every call; wrong
credentials get 401 in the carrier's error format):
  telnyx     Bearer <api-key>; base /v2
             GET /available_phone_numbers?filter[...]   POST /number_orders
             GET /number_orders/{id}                     DELETE /phone_numbers/{id}
  bandwidth  Basic <user>:<password>; base /api or /api/v1 (both: UNCONFIRMED)
             GET /accounts/{account}/availableNumbers    POST /accounts/{account}/orders
             GET /accounts/{account}/orders/{id}         POST /accounts/{account}/disconnects
  plivo      Basic <auth-id>:<auth-token>; base /v1/Account/{auth-id}
             GET /PhoneNumber/?country_iso=..            POST /PhoneNumber/{number}/
             DELETE /Number/{number}/
             GET /Number/{number}/ (a rented number: NOT in the contract, which
             has no order-status call; the adapter polls it for pending buys)

Message sends (the contract's "Send" / "Messaging v2"), same credentials:
  telnyx     POST /v2/messages {"from","to","text"|"media_urls",["webhook_url"],
             ["messaging_profile_id"]} -> 200 {"data":{"id","parts","to":[{..."queued"}],...}}
  bandwidth  POST /api/v2/users/{account}/messages {"applicationId" (must be
             --application-id),"to":[...],"from",["text"],["media"],["tag"]}
             -> 202 {"id","segmentCount","owner",...}; errors in JSON
             {"type","description","fieldErrors":[{"fieldName","description"}]}
  plivo      POST /v1/Account/{auth-id}/Message/ {"src","dst" (digits, no '+'),
             "text","type":"sms"|"mms",["media_urls"],["url","method"]}
             -> 202 {"api_id","message":"message(s) queued","message_uuid":[...]}
A send that breaks the contract (missing or mistyped field, '+' in a Plivo
number, an unknown Bandwidth application) gets the carrier's 400/422.
Segments ("parts"/"segmentCount"): 1 for MMS; otherwise GSM 03.38 septets
160 / 153 a part (extension characters cost 2), or UCS-2 70 / 67 units a part.

Inventory (deterministic): for each area (415 SAN FRANCISCO CA 94105,
212 NEW YORK NY 10001, 919 RALEIGH NC 27601) and i in 0..23, the number
+1<area>555<1000 + 37 i>, e.g. +14155551000, +14155551037, ... +14155551851:
  features by i % 4: 0 sms+mms+voice, 1 voice, 2 sms+voice, 3 sms+mms
  monthly price 1.00 + 0.25 * (i % 3); upfront 0.00 for even i, 0.50 for odd i
Orders take numbers out of the inventory; releases put them back.

Control, outside the carrier's API (no auth, not logged):
  POST /_control with a JSON object, keys applied in this order:
    {"reset": true}                   inventory, orders, modes and log as at start
    {"clear_requests": true}          empties the request log
    {"fail_next": [503, 503]}         answer the next requests with these statuses
      "fail_body": "...", "fail_content_type": "...", "fail_headers": {...}
                                      (optional) instead of the carrier's error format
    {"rate_limit_next": 2, "retry_after": 1}
                                      429 (with Retry-After when given) for the next 2
    {"delay_ms": 1500, "delay_count": 3}
                                      slow answers (all, or only the next delay_count)
    {"order_mode": "complete" | "pending_then_complete" | "fail" | "partial",
     "pending_polls": 2}              new orders: complete at once (telnyx success,
                                      bandwidth COMPLETE at the first poll, plivo
                                      fulfilled); pending for N polls then complete;
                                      failed after N polls (plivo: the buy is refused);
                                      bandwidth only: PARTIAL after N polls
    {"send_results": ["ok", {"status": 400, "error": "text", "code": "40310"},
                      {"status": 503}, {"status": 429, "retry_after": 0}]}
                                      answers for the next message sends (after the
                                      credentials are checked), one each, in order;
                                      errors in the carrier's format ("error" and
                                      "code" optional); "ok" or an empty queue: the
                                      send is validated and accepted
  GET /_requests -> {"requests": [{"method", "path", "query", "params", "headers",
                                   "body"}, ...]} (headers with lower-case names)
  GET /_messages -> {"messages": [{"id", "from", "to", "text", "media_urls",
                                   "status_url", "reference", "segments",
                                   "request"}, ...]}
                                      the sends accepted, oldest first (request: the
                                      JSON body as sent)
"""

import argparse
import base64
import ctypes
import json
import os
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AREAS = [
    ("415", "SAN FRANCISCO", "CA", "94105"),
    ("212", "NEW YORK", "NY", "10001"),
    ("919", "RALEIGH", "NC", "27601"),
]
FEATURES = [["sms", "mms", "voice"], ["voice"], ["sms", "voice"], ["sms", "mms"]]


def make_inventory():
    numbers = []
    for npa, city, state, zip_code in AREAS:
        for i in range(24):
            line = 1000 + 37 * i
            numbers.append(
                {
                    "e164": "+1%s555%04d" % (npa, line),
                    "npa": npa,
                    "city": city,
                    "state": state,
                    "zip": zip_code,
                    "features": FEATURES[i % 4],
                    "monthly_cents": 100 + 25 * (i % 3),
                    "upfront_cents": 0 if i % 2 == 0 else 50,
                }
            )
    return numbers


def money(cents, decimals):
    return "%.*f" % (decimals, cents / 100.0)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.inventory = make_inventory()  # available, in order
        self.all_numbers = {n["e164"]: n for n in self.inventory}
        self.owned = {}  # key -> number record (telnyx: phone number id; others: e164)
        self.orders = {}  # id -> order dict
        self.by_ref = {}  # customer reference -> order id
        self.pending_buys = {}  # plivo: e164 -> polls left
        self.requests = []
        self.fail_next = []
        self.fail_body = None
        self.fail_content_type = None
        self.fail_headers = {}
        self.rate_limit_next = 0
        self.retry_after = None
        self.delay_ms = 0
        self.delay_count = None
        self.order_mode = "complete"
        self.pending_polls = 0
        self.counter = 0
        self.send_results = []  # scripted answers for the next message sends
        self.messages = []  # accepted sends

    def next_id(self):
        self.counter += 1
        return self.counter

    def take(self, e164):
        for i, n in enumerate(self.inventory):
            if n["e164"] == e164:
                return self.inventory.pop(i)
        return None

    def give_back(self, record):
        if record["e164"] not in self.all_numbers:
            return
        if any(n["e164"] == record["e164"] for n in self.inventory):
            return
        order = list(self.all_numbers)
        self.inventory.append(record)
        self.inventory.sort(key=lambda n: order.index(n["e164"]))


STATE = State()
ARGS = None


def check_basic(header, user, password):
    if not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except Exception:
        return False
    return decoded == "%s:%s" % (user, password)


class Reply:
    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = headers or {}


# ---------------------------------------------------------------------------
# Telnyx


def telnyx_error(status, code, title, detail=""):
    body = {"errors": [{"code": str(code), "title": title, "detail": detail or title}]}
    return Reply(status, json.dumps(body), "application/json")


def telnyx_json(status, obj):
    return Reply(status, json.dumps(obj), "application/json")


def telnyx_available(n):
    features = [{"name": f} for f in n["features"]]
    if "voice" in n["features"]:
        features.append({"name": "emergency"})
    return {
        "record_type": "available_phone_number",
        "phone_number": n["e164"],
        "features": features,
        "region_information": [
            {"region_type": "rate_center", "region_name": n["city"]},
            {"region_type": "state", "region_name": n["state"]},
            {"region_type": "country_code", "region_name": "US"},
        ],
        "cost_information": {
            "currency": "USD",
            "monthly_cost": money(n["monthly_cents"], 2),
            "upfront_cost": money(n["upfront_cents"], 2),
        },
        "reservable": True,
    }


def telnyx_order_json(order):
    status = order["status"]
    number_status = {"pending": "pending", "success": "success", "failure": "failure"}[status]
    return {
        "data": {
            "record_type": "number_order",
            "id": order["id"],
            "status": status,
            "customer_reference": order["customer_reference"],
            "connection_id": order["connection_id"],
            "messaging_profile_id": order["messaging_profile_id"],
            "phone_numbers_count": 1,
            "phone_numbers": [
                {
                    "record_type": "number_order_phone_number",
                    "id": order["phone_number_id"],
                    "phone_number": order["number"]["e164"],
                    "status": number_status,
                }
            ],
        }
    }


def finish_order(order, success):
    """Ends an order: the number is owned, or back in the inventory."""
    if success:
        key = order.get("phone_number_id") or order["number"]["e164"]
        STATE.owned[key] = order["number"]
    else:
        STATE.give_back(order["number"])


def telnyx(h, method, path, params, body):
    if h.headers.get("Authorization", "") != "Bearer " + ARGS.api_key:
        return telnyx_error(401, "10009", "Authentication failed",
                            "The API key is missing, invalid or revoked.")
    if not path.startswith("/v2/"):
        return telnyx_error(404, "10005", "Resource not found", "No route for " + path)
    route = path[len("/v2"):]
    if method == "POST" and route == "/messages":
        return telnyx_send(body)
    if method == "GET" and route == "/available_phone_numbers":
        return telnyx_search(params)
    if method == "POST" and route == "/number_orders":
        return telnyx_order(body)
    if method == "GET" and route.startswith("/number_orders/"):
        order = STATE.orders.get(urllib.parse.unquote(route[len("/number_orders/"):]))
        if order is None:
            return telnyx_error(404, "10005", "Resource not found", "No such number order")
        poll(order, {"success": "success", "failure": "failure"})
        return telnyx_json(200, telnyx_order_json(order))
    if method == "DELETE" and route.startswith("/phone_numbers/"):
        pid = urllib.parse.unquote(route[len("/phone_numbers/"):])
        record = STATE.owned.pop(pid, None)
        if record is None:
            return telnyx_error(404, "10005", "Resource not found", "No such phone number")
        STATE.give_back(record)
        return telnyx_json(200, {"data": {"record_type": "phone_number", "id": pid,
                                          "phone_number": record["e164"], "status": "deleted"}})
    return telnyx_error(404, "10005", "Resource not found", "No route for %s %s" % (method, path))


def telnyx_search(params):
    def values(key):
        return [v for k, v in params if k == key]

    def one(key):
        v = values(key)
        return v[-1] if v else ""

    features = []
    for v in values("filter[features][]"):
        features.append(v)
    for v in values("filter[features]"):
        features.extend(x for x in v.split(",") if x)
    limit = one("filter[limit]") or "50"
    if not limit.isdigit() or int(limit) < 1:
        return telnyx_error(400, "10015", "Bad Request", "filter[limit] must be a positive integer")
    country = one("filter[country_code]")
    ndc = one("filter[national_destination_code]")
    contains = one("filter[phone_number][contains]")
    starts = one("filter[phone_number][starts_with]")
    ends = one("filter[phone_number][ends_with]")
    locality = one("filter[locality]").lower()
    area = one("filter[administrative_area]").lower()
    out = []
    for n in STATE.inventory:
        national = n["e164"][2:]
        if country and country.upper() != "US":
            continue
        if ndc and n["npa"] != ndc:
            continue
        if contains and contains not in n["e164"][1:]:
            continue
        if starts and not national.startswith(starts) and not n["e164"][1:].startswith(starts):
            continue
        if ends and not national.endswith(ends):
            continue
        if locality and n["city"].lower() != locality:
            continue
        if area and n["state"].lower() != area:
            continue
        if any(f not in n["features"] for f in features):
            continue
        out.append(telnyx_available(n))
    out = out[: int(limit)]
    return telnyx_json(200, {"data": out, "meta": {"total_results": len(out), "best_effort_results": 0}})


def telnyx_order(raw):
    try:
        body = json.loads(raw or b"{}")
        numbers = body["phone_numbers"]
        e164 = numbers[0]["phone_number"]
        assert isinstance(e164, str) and len(numbers) == 1
    except Exception:
        return telnyx_error(422, "10015", "Invalid parameter",
                            "phone_numbers must list one {\"phone_number\": ...}")
    ref = body.get("customer_reference") or ""
    if ref and ref in STATE.by_ref:  # a repeated order: the same order
        return telnyx_json(200, telnyx_order_json(STATE.orders[STATE.by_ref[ref]]))
    record = STATE.take(e164)
    if record is None:
        return telnyx_error(422, "85001", "Number not available",
                            "%s is not available for ordering" % e164)
    n = STATE.next_id()
    order = {
        "id": "0fa1c5d2-7c3e-4b1a-9f00-%012d" % n,
        "phone_number_id": str(1293384261075731000 + n),
        "number": record,
        "customer_reference": ref,
        "connection_id": body.get("connection_id"),
        "messaging_profile_id": body.get("messaging_profile_id"),
    }
    new_order(order, {"complete": "success", "pending": "pending"})
    if ref:
        STATE.by_ref[ref] = order["id"]
    return telnyx_json(200, telnyx_order_json(order))


def new_order(order, words):
    """Sets the order's first status by the mode; words maps complete/pending."""
    order["mode"] = STATE.order_mode
    order["polls_left"] = STATE.pending_polls
    if STATE.order_mode == "complete" and words.get("complete"):
        order["status"] = words["complete"]
        finish_order(order, True)
    else:
        order["status"] = words["pending"]
    STATE.orders[order["id"]] = order


def poll(order, words):
    """One status poll of a pending order; words maps success/failure/partial."""
    if order["status"] not in (words.get("success"), words.get("failure"), words.get("partial")):
        if order["polls_left"] > 0:
            order["polls_left"] -= 1
            return
        mode = order["mode"]
        if mode in ("complete", "pending_then_complete"):
            order["status"] = words["success"]
            finish_order(order, True)
        elif mode == "partial" and words.get("partial"):
            order["status"] = words["partial"]
            finish_order(order, False)
        else:
            order["status"] = words["failure"]
            finish_order(order, False)


# ---------------------------------------------------------------------------
# Bandwidth

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def bw_xml(status, body):
    return Reply(status, XML_HEAD + body, "application/xml")


def bw_root(path):
    if "/availableNumbers" in path:
        return "SearchResult"
    if "/disconnects" in path:
        return "DisconnectTelephoneNumberOrderResponse"
    return "OrderResponse"


def bw_error(status, path, code, description):
    root = bw_root(path)
    return bw_xml(status, "<%s><Error><Code>%s</Code><Description>%s</Description></Error></%s>"
                  % (root, code, xml_escape(description), root))


def bandwidth(h, method, path, params, body):
    if path.startswith(BW_MESSAGING):
        return bandwidth_messaging(h, method, path, body)
    if not check_basic(h.headers.get("Authorization", ""), ARGS.user, ARGS.password):
        reply = bw_error(401, path, "401", "Authentication failed: bad API user name or password")
        reply.headers["WWW-Authenticate"] = 'Basic realm=""'
        return reply
    route = None
    for prefix in ("/api/v1/accounts/", "/api/accounts/"):
        if path.startswith(prefix):
            route = path[len(prefix):]
            break
    if route is None:
        return bw_error(404, path, "404", "No route for " + path)
    account, _, rest = route.partition("/")
    if urllib.parse.unquote(account) != ARGS.account_id:
        return bw_error(403, path, "403", "The user has no access to account " + account)
    rest = "/" + rest
    if method == "GET" and rest == "/availableNumbers":
        return bandwidth_search(path, params)
    if method == "POST" and rest == "/orders":
        return bandwidth_order(path, body)
    if method == "GET" and rest.startswith("/orders/"):
        order = STATE.orders.get(urllib.parse.unquote(rest[len("/orders/"):]))
        if order is None:
            return bw_error(404, path, "5001", "Order not found")
        poll(order, {"success": "COMPLETE", "failure": "FAILED", "partial": "PARTIAL"})
        return bw_xml(200, bandwidth_order_xml(order, detail=True))
    if method == "POST" and rest == "/disconnects":
        return bandwidth_disconnect(path, body)
    return bw_error(404, path, "404", "No route for %s %s" % (method, path))


def bandwidth_search(path, params):
    p = {k: v for k, v in params}
    criteria = [k for k in ("areaCode", "npaNxx", "city", "state", "zip", "localVanity") if p.get(k)]
    if not criteria:
        return bw_error(400, path, "4000", "At least one search criteria must be specified")
    if "city" in p and not p.get("state"):
        return bw_error(400, path, "4000", "city must be accompanied by state")
    area = p.get("areaCode", "")
    if area and (len(area) != 3 or not area.isdigit()):
        return bw_error(400, path, "4010", "areaCode must be three digits")
    quantity = p.get("quantity", "5000")
    if not quantity.isdigit() or not 1 <= int(quantity) <= 5000:
        return bw_error(400, path, "4000", "quantity must be from 1 to 5000")
    out = []
    for n in STATE.inventory:
        national = n["e164"][2:]
        if area and n["npa"] != area:
            continue
        if p.get("npaNxx") and not national.startswith(p["npaNxx"]):
            continue
        if p.get("city") and n["city"].lower() != p["city"].lower():
            continue
        if p.get("state") and n["state"].lower() != p["state"].lower():
            continue
        if p.get("zip") and n["zip"] != p["zip"]:
            continue
        if p.get("localVanity") and p["localVanity"] not in national[3:]:
            continue
        out.append(national)
    out = out[: int(quantity)]
    body = "<SearchResult><ResultCount>%d</ResultCount>" % len(out)
    if out:
        body += "<TelephoneNumberList>%s</TelephoneNumberList>" % "".join(
            "<TelephoneNumber>%s</TelephoneNumber>" % d for d in out)
    return bw_xml(200, body + "</SearchResult>")


def bandwidth_order_xml(order, detail=False):
    number = order["number"]["e164"][2:]
    inner = ("<Order><CustomerOrderId>%s</CustomerOrderId><OrderCreateDate>2024-01-01T00:00:00.000Z"
             "</OrderCreateDate><BackOrderRequested>false</BackOrderRequested><id>%s</id>"
             "<ExistingTelephoneNumberOrderType><TelephoneNumberList><TelephoneNumber>%s"
             "</TelephoneNumber></TelephoneNumberList></ExistingTelephoneNumberOrderType>"
             "<SiteId>%s</SiteId></Order>"
             % (xml_escape(order["customer_reference"]), order["id"], number,
                xml_escape(order["site_id"])))
    status = order["status"]
    if not detail:
        return "<OrderResponse>%s<OrderStatus>%s</OrderStatus></OrderResponse>" % (inner, status)
    extra = ""
    if status == "COMPLETE":
        extra = ("<CompletedNumbers><TelephoneNumber><FullNumber>%s</FullNumber></TelephoneNumber>"
                 "</CompletedNumbers>" % number)
    elif status in ("FAILED", "PARTIAL"):
        extra = ("<ErrorList><Error><Code>5005</Code><Description>The telephone number %s is "
                 "unavailable for ordering</Description><TelephoneNumber>%s</TelephoneNumber>"
                 "</Error></ErrorList><FailedNumbers><FullNumber>%s</FullNumber></FailedNumbers>"
                 % (number, number, number))
    completed = 1 if status == "COMPLETE" else 0
    return ("<OrderResponse><CompletedQuantity>%d</CompletedQuantity><CreatedByUser>%s"
            "</CreatedByUser>%s%s<OrderStatus>%s</OrderStatus></OrderResponse>"
            % (completed, xml_escape(ARGS.user), inner, extra, status))


def parse_xml(body):
    try:
        return ET.fromstring(body or b"")
    except ET.ParseError:
        return None


def bandwidth_order(path, body):
    root = parse_xml(body)
    if root is None or root.tag != "Order":
        return bw_error(400, path, "1003", "The request body is not an Order document")
    ref = root.findtext("CustomerOrderId") or ""
    site = root.findtext("SiteId") or ""
    numbers = [t.text or "" for t in
               root.findall("ExistingTelephoneNumberOrderType/TelephoneNumberList/TelephoneNumber")]
    if not site or len(numbers) != 1:
        return bw_error(400, path, "5100",
                        "An Order needs a SiteId and one ExistingTelephoneNumberOrderType number")
    if ref and ref in STATE.by_ref:
        return bw_xml(201, bandwidth_order_xml(STATE.orders[STATE.by_ref[ref]]))
    n = STATE.next_id()
    record = STATE.take("+1" + numbers[0])
    order = {"id": "6a2bd4c8-3e1f-4d5a-8b00-%012d" % n, "number": record,
             "customer_reference": ref, "site_id": site}
    if record is None:
        # Accepted, then it fails: Bandwidth reports unavailable numbers in the order.
        order["number"] = {"e164": "+1" + numbers[0]}
        order["status"] = "RECEIVED"
        order["mode"] = "fail"
        order["polls_left"] = 0
        STATE.orders[order["id"]] = order
    else:
        new_order(order, {"pending": "RECEIVED"})
    if ref:
        STATE.by_ref[ref] = order["id"]
    return bw_xml(201, bandwidth_order_xml(order))


def bandwidth_disconnect(path, body):
    root = parse_xml(body)
    if root is None or root.tag != "DisconnectTelephoneNumberOrder":
        return bw_error(400, path, "1003",
                        "The request body is not a DisconnectTelephoneNumberOrder document")
    numbers = [t.text or "" for t in root.findall(
        "DisconnectTelephoneNumberOrderType/TelephoneNumberList/TelephoneNumber")]
    if not numbers:
        return bw_error(400, path, "7500", "No telephone numbers to disconnect")
    for d in numbers:
        record = STATE.owned.pop("+1" + d, None)
        if record is not None:
            STATE.give_back(record)
    n = STATE.next_id()
    return bw_xml(201, "<DisconnectTelephoneNumberOrderResponse><orderRequest><id>%s</id>"
                       "<OrderCreateDate>2024-01-01T00:00:00.000Z</OrderCreateDate></orderRequest>"
                       "<OrderStatus>RECEIVED</OrderStatus></DisconnectTelephoneNumberOrderResponse>"
                  % ("9c0e7f21-5b4a-4e3d-a100-%012d" % n))


# ---------------------------------------------------------------------------
# Plivo


def plivo_json(status, obj):
    obj = dict(obj)
    obj.setdefault("api_id", "5f6c2a1e-0000-11ee-a000-%012d" % STATE.next_id())
    return Reply(status, json.dumps(obj), "application/json")


def plivo_error(status, message):
    return plivo_json(status, {"error": message})


def plivo(h, method, path, params, body):
    prefix = "/v1/Account/%s/" % ARGS.auth_id
    if not check_basic(h.headers.get("Authorization", ""), ARGS.auth_id, ARGS.auth_token):
        return plivo_error(401, "Authentication credentials invalid")
    if not path.startswith(prefix):
        return plivo_error(401 if path.startswith("/v1/Account/") else 404,
                           "Authentication credentials invalid" if path.startswith("/v1/Account/")
                           else "not found")
    route = "/" + path[len(prefix):]
    if not route.endswith("/"):
        return plivo_error(404, "not found")
    parts = [p for p in route.split("/") if p]
    if method == "POST" and parts == ["Message"]:
        return plivo_send(body)
    if method == "GET" and parts == ["PhoneNumber"]:
        return plivo_search(params)
    if method == "POST" and len(parts) == 2 and parts[0] == "PhoneNumber":
        return plivo_buy(parts[1], body)
    if len(parts) == 2 and parts[0] == "Number":
        e164 = "+" + parts[1]
        if method == "GET":
            if e164 in STATE.pending_buys:
                if STATE.pending_buys[e164] > 0:
                    STATE.pending_buys[e164] -= 1
                    return plivo_error(404, "not found")
                STATE.owned[e164] = STATE.all_numbers[e164]
                del STATE.pending_buys[e164]
            record = STATE.owned.get(e164)
            if record is None:
                return plivo_error(404, "not found")
            return plivo_json(200, {
                "number": parts[1], "alias": None, "added_on": "2024-01-01",
                "application": "/v1/Account/%s/Application/%s/" % (ARGS.auth_id, "app"),
                "monthly_rental_rate": money(record["monthly_cents"], 5),
                "number_type": "local", "sms_enabled": "sms" in record["features"],
                "mms_enabled": "mms" in record["features"],
                "voice_enabled": "voice" in record["features"],
                "resource_uri": path})
        if method == "DELETE":
            record = STATE.owned.pop(e164, None)
            if record is None:
                return plivo_error(404, "not found")
            STATE.give_back(record)
            return Reply(204)
    return plivo_error(404, "not found")


def plivo_search(params):
    p = {k: v for k, v in params}
    country = p.get("country_iso", "")
    if not country:
        return plivo_error(400, "country_iso is required")
    limit = p.get("limit", "20")
    offset = p.get("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 20 or not offset.isdigit():
        return plivo_error(400, "limit must be from 1 to 20")
    services = [s for s in p.get("services", "").split(",") if s]
    for s in services:
        if s not in ("voice", "sms", "mms", "fax"):
            return plivo_error(400, "unknown service " + s)
    pattern = p.get("pattern", "")
    matches = []
    for n in STATE.inventory:
        digits = n["e164"][1:]
        if country.upper() != "US":
            continue
        if pattern and not digits.startswith("1" + pattern):
            continue
        if any(s not in n["features"] for s in services):
            continue
        matches.append(n)
    page = matches[int(offset): int(offset) + int(limit)]
    objects = [{
        "number": n["e164"][1:], "prefix": n["npa"], "city": n["city"], "country": "UNITED STATES",
        "type": "fixed", "sub_type": "local",
        "monthly_rental_rate": money(n["monthly_cents"], 5),
        "setup_rate": money(n["upfront_cents"], 5),
        "sms_enabled": "sms" in n["features"], "mms_enabled": "mms" in n["features"],
        "voice_enabled": "voice" in n["features"], "restriction": None,
        "resource_uri": "/v1/Account/%s/PhoneNumber/%s/" % (ARGS.auth_id, n["e164"][1:]),
    } for n in page]
    return plivo_json(200, {"meta": {"limit": int(limit), "offset": int(offset),
                                     "total_count": len(matches), "next": None, "previous": None},
                            "objects": objects})


def plivo_buy(digits, raw):
    try:
        body = json.loads(raw or b"{}")
        assert isinstance(body, dict)
    except Exception:
        return plivo_error(400, "the request body is not a JSON object")
    e164 = "+" + digits
    if e164 in STATE.owned:  # bought already (a retry): the same answer
        return plivo_json(201, {"message": "created", "numbers": [{"number": digits,
                                "status": "Success"}], "status": "fulfilled"})
    if e164 in STATE.pending_buys:
        return plivo_json(201, {"message": "created", "numbers": [{"number": digits,
                                "status": "Pending"}], "status": "pending"})
    if STATE.order_mode == "fail":
        return plivo_error(400, "the number %s could not be purchased" % digits)
    record = STATE.take(e164)
    if record is None:
        return plivo_error(404, "the number %s is not available" % digits)
    if STATE.order_mode == "pending_then_complete":
        STATE.pending_buys[e164] = STATE.pending_polls
        return plivo_json(201, {"message": "created", "numbers": [{"number": digits,
                                "status": "Pending"}], "status": "pending"})
    STATE.owned[e164] = record
    return plivo_json(201, {"message": "created", "numbers": [{"number": digits,
                            "status": "Success"}], "status": "fulfilled"})


# ---------------------------------------------------------------------------
# Message sends (all three carriers)

BW_MESSAGING = "/api/v2/users/"


GSM7_BASIC = set("@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
                 "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6"
                 "\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "\u00c4\u00d6\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1"
                 "\u00fc\u00e0")
GSM7_EXTENSION = set("^{}\\[~]|\u20ac\f")


def is_gsm7(text):
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segments_of(text, has_media):
    """Parts as carriers count them: 1 for MMS; GSM 03.38 text in septets
    (extension characters cost 2), 160 / 153 a part; else UCS-2 units, 70 / 67."""
    if has_media:
        return 1
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-be")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return (units + part - 1) // part


def send_body(raw):
    """The JSON object of a send, or None."""
    try:
        body = json.loads(raw or b"{}")
    except Exception:
        return None
    return body if isinstance(body, dict) else None


def is_str(v):
    return isinstance(v, str)


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


def next_send_result():
    """The scripted answer for this send ("ok" when none is left)."""
    return STATE.send_results.pop(0) if STATE.send_results else "ok"


def record_message(mid, sender, dest, text, media, status_url, reference, segments, body):
    STATE.messages.append({"id": mid, "from": sender, "to": dest, "text": text,
                           "media_urls": media, "status_url": status_url,
                           "reference": reference, "segments": segments, "request": body})


def telnyx_send(raw):
    scripted = next_send_result()
    if scripted != "ok":
        reply = telnyx_error(scripted["status"], scripted.get("code", str(scripted["status"])),
                             scripted.get("error", "Fake failure %d" % scripted["status"]))
        if "retry_after" in scripted:
            reply.headers["Retry-After"] = str(scripted["retry_after"])
        return reply
    body = send_body(raw)
    if body is None:
        return telnyx_error(400, "10015", "Bad Request", "The request body is not a JSON object")
    sender, dest = body.get("from"), body.get("to")
    text, media = body.get("text", ""), body.get("media_urls", [])
    if not is_str(sender) or not sender.startswith("+"):
        return telnyx_error(422, "40305", "Invalid 'from' address",
                            "The 'from' address should be a +E.164 number")
    if not is_str(dest) or not dest.startswith("+"):
        return telnyx_error(422, "40310", "Invalid 'to' address",
                            "The 'to' address should be in +E.164 format")
    if not is_str(text) or not is_str_list(media) or (not text and not media):
        return telnyx_error(422, "40004", "Invalid parameter",
                            "A message needs text or media_urls")
    for key in ("webhook_url", "messaging_profile_id"):
        if key in body and not is_str(body[key]):
            return telnyx_error(422, "10015", "Invalid parameter", key + " must be a string")
    mid = "4031938e-60e8-4b5f-a000-%012d" % STATE.next_id()
    parts = segments_of(text, bool(media))
    record_message(mid, sender, dest, text, media, body.get("webhook_url", ""), "", parts, body)
    return telnyx_json(200, {"data": {
        "record_type": "message", "id": mid, "direction": "outbound",
        "type": "MMS" if media else "SMS",
        "messaging_profile_id": body.get("messaging_profile_id", "mp-default"),
        "from": {"phone_number": sender, "carrier": "Telnyx", "line_type": "Wireless"},
        "to": [{"phone_number": dest, "status": "queued", "carrier": "T-MOBILE USA, INC.",
                "line_type": "Wireless"}],
        "text": text, "media": [{"url": u, "content_type": None} for u in media],
        "webhook_url": body.get("webhook_url", ""), "parts": parts,
        "encoding": "GSM-7" if is_gsm7(text) else "UCS-2",
        "errors": []}})


def bw_msg_error(status, kind, description, field_errors=None):
    body = {"type": kind, "description": description}
    if field_errors:
        body["fieldErrors"] = [{"fieldName": f, "description": d} for f, d in field_errors]
    return Reply(status, json.dumps(body), "application/json")


def bandwidth_messaging(h, method, path, raw):
    if not check_basic(h.headers.get("Authorization", ""), ARGS.user, ARGS.password):
        return bw_msg_error(401, "unauthorized", "Authentication failed")
    account, _, rest = path[len(BW_MESSAGING):].partition("/")
    if urllib.parse.unquote(account) != ARGS.account_id:
        return bw_msg_error(403, "forbidden", "The user has no access to account " + account)
    if method != "POST" or rest != "messages":
        return bw_msg_error(404, "not-found", "No route for %s %s" % (method, path))
    scripted = next_send_result()
    if scripted != "ok":
        reply = bw_msg_error(scripted["status"], scripted.get("code", "request-error"),
                             scripted.get("error", "Fake failure %d" % scripted["status"]))
        if "retry_after" in scripted:
            reply.headers["Retry-After"] = str(scripted["retry_after"])
        return reply
    body = send_body(raw)
    if body is None:
        return bw_msg_error(400, "request-validation", "The request body is not a JSON object")
    errors = []
    if body.get("applicationId") != ARGS.application_id:
        errors.append(("applicationId", "'%s' is not an application of this account"
                       % body.get("applicationId")))
    dest = body.get("to")
    if not is_str_list(dest) or not dest or any(not d.startswith("+") for d in dest):
        errors.append(("to", "must be a list of E164 formatted telephone numbers"))
    sender = body.get("from")
    if not is_str(sender) or not sender.startswith("+"):
        errors.append(("from", "must be an E164 formatted telephone number"))
    text, media = body.get("text", ""), body.get("media", [])
    if not is_str(text) or not is_str_list(media) or (not text and not media):
        errors.append(("text", "a message needs text or media"))
    if "tag" in body and not is_str(body["tag"]):
        errors.append(("tag", "must be a string"))
    if errors:
        return bw_msg_error(400, "request-validation", "Your request could not be accepted.",
                            errors)
    mid = "1589228074636lm4k2je%012d" % STATE.next_id()
    parts = segments_of(text, bool(media))
    record_message(mid, sender, dest[0], text, media, "", body.get("tag", ""), parts, body)
    out = {"id": mid, "owner": sender, "applicationId": body["applicationId"],
           "time": "2024-01-01T00:00:00.000Z", "segmentCount": parts, "direction": "out",
           "to": dest, "from": sender, "text": text}
    if media:
        out["media"] = media
    if "tag" in body:
        out["tag"] = body["tag"]
    return Reply(202, json.dumps(out), "application/json")


def plivo_send(raw):
    scripted = next_send_result()
    if scripted != "ok":
        reply = plivo_error(scripted["status"],
                            scripted.get("error", "Fake failure %d" % scripted["status"]))
        if "retry_after" in scripted:
            reply.headers["Retry-After"] = str(scripted["retry_after"])
        return reply
    body = send_body(raw)
    if body is None:
        return plivo_error(400, "the request body is not a JSON object")
    src, dst = body.get("src"), body.get("dst")
    if not is_str(src) or not src.isdigit():
        return plivo_error(400, "src: a phone number in digits, without '+'")
    if not is_str(dst) or not dst.isdigit():
        return plivo_error(400, "dst: a phone number in digits, without '+'")
    kind = body.get("type", "sms")
    text, media = body.get("text", ""), body.get("media_urls", [])
    if kind not in ("sms", "mms"):
        return plivo_error(400, "type must be sms or mms")
    if not is_str(text) or not is_str_list(media):
        return plivo_error(400, "text must be a string and media_urls a list of URLs")
    if kind == "sms" and (not text or media):
        return plivo_error(400, "an sms needs text and no media_urls")
    if kind == "mms" and not media:
        return plivo_error(400, "an mms needs media_urls")
    if "url" in body and (not is_str(body["url"]) or body.get("method", "POST") not in
                          ("GET", "POST")):
        return plivo_error(400, "url must be a URL and method GET or POST")
    mid = "e3ad7b1c-5b3e-11ee-a000-%012d" % STATE.next_id()
    parts = segments_of(text, bool(media))
    record_message(mid, "+" + src, "+" + dst, text, media, body.get("url", ""), "", parts, body)
    return plivo_json(202, {"message": "message(s) queued", "message_uuid": [mid]})


# ---------------------------------------------------------------------------
# Common


def carrier_error(path, status, message):
    if ARGS.carrier == "telnyx":
        return telnyx_error(status, str(status), message)
    if ARGS.carrier == "bandwidth":
        if path.startswith(BW_MESSAGING):
            return bw_msg_error(status, "request-error", message)
        return bw_error(status, path, str(status), message)
    return plivo_error(status, message)


HANDLERS = {"telnyx": telnyx, "bandwidth": bandwidth, "plivo": plivo}


def apply_control(c):
    if c.get("reset"):
        STATE.reset()
    if c.get("clear_requests"):
        STATE.requests = []
    if "fail_next" in c:
        STATE.fail_next = [int(s) for s in c["fail_next"]]
    for key in ("fail_body", "fail_content_type"):
        if key in c:
            setattr(STATE, key, c[key])
    if "fail_headers" in c:
        STATE.fail_headers = dict(c["fail_headers"])
    if "rate_limit_next" in c:
        STATE.rate_limit_next = int(c["rate_limit_next"])
    if "retry_after" in c:
        STATE.retry_after = c["retry_after"]
    if "delay_ms" in c:
        STATE.delay_ms = int(c["delay_ms"])
        STATE.delay_count = c.get("delay_count")
    if "order_mode" in c:
        if c["order_mode"] not in ("complete", "pending_then_complete", "fail", "partial"):
            raise ValueError("unknown order_mode")
        STATE.order_mode = c["order_mode"]
    if "pending_polls" in c:
        STATE.pending_polls = int(c["pending_polls"])
    if "send_results" in c:
        results = []
        for r in c["send_results"]:
            if r == "ok":
                results.append(r)
            elif isinstance(r, dict) and isinstance(r.get("status"), int):
                results.append(dict(r))
            else:
                raise ValueError("send_results: each is \"ok\" or {\"status\": N, ...}")
        STATE.send_results = results


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "carrier-fake"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, reply):
        try:
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                self.send_header(k, str(v))
            if reply.status != 204:
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.status != 204 and self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query

        if path == "/_control" and self.command == "POST":
            try:
                control = json.loads(body or b"{}")
                with STATE.lock:
                    apply_control(control)
            except Exception as e:  # a test's mistake: say so
                return self.send(Reply(400, json.dumps({"error": str(e)}), "application/json"))
            return self.send(Reply(200, '{"ok":true}', "application/json"))
        if path == "/_requests" and self.command == "GET":
            with STATE.lock:
                text = json.dumps({"requests": STATE.requests})
            return self.send(Reply(200, text, "application/json"))
        if path == "/_messages" and self.command == "GET":
            with STATE.lock:
                text = json.dumps({"messages": STATE.messages})
            return self.send(Reply(200, text, "application/json"))

        params = urllib.parse.parse_qsl(query, keep_blank_values=True)
        with STATE.lock:
            STATE.requests.append({
                "method": self.command,
                "path": path,
                "query": query,
                "params": [[k, v] for k, v in params],
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            delay = 0
            if STATE.delay_ms > 0 and (STATE.delay_count is None or STATE.delay_count > 0):
                delay = STATE.delay_ms
                if STATE.delay_count is not None:
                    STATE.delay_count -= 1
        if delay:
            time.sleep(delay / 1000.0)
        with STATE.lock:
            if STATE.fail_next:
                status = STATE.fail_next.pop(0)
                if STATE.fail_body is not None:
                    reply = Reply(status, STATE.fail_body,
                                  STATE.fail_content_type or "text/plain")
                else:
                    reply = carrier_error(path, status, "Fake failure %d" % status)
                reply.headers.update(STATE.fail_headers)
            elif STATE.rate_limit_next > 0:
                STATE.rate_limit_next -= 1
                reply = carrier_error(path, 429, "Too many requests")
                if STATE.retry_after is not None:
                    reply.headers["Retry-After"] = str(STATE.retry_after)
            else:
                reply = HANDLERS[ARGS.carrier](self, self.command, path, params, body)
        self.send(reply)

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_PATCH = handle_any
    do_DELETE = handle_any


def die_with_parent():
    try:  # Linux: the kernel kills us when the parent goes
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass
    parent = os.getppid()

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carrier", required=True, choices=sorted(HANDLERS))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default="KEYtest0123456789")
    ap.add_argument("--user", default="apiuser")
    ap.add_argument("--password", default="apipass")
    ap.add_argument("--account-id", default="9900001")
    ap.add_argument("--application-id", default="msg-app-0001")
    ap.add_argument("--auth-id", default="MAFAKEAUTHID0000000")
    ap.add_argument("--auth-token", default="fake-auth-token")
    ARGS = ap.parse_args()
    die_with_parent()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    print("READY %d" % server.server_address[1], flush=True)
    devnull = open(os.devnull, "w")
    sys.stdout = devnull
    os.dup2(devnull.fileno(), 1)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
