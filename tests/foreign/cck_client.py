#!/usr/bin/env python3
"""An independent CCK OpenAPI client, written from shared/cck/API.md alone with the
Python standard library, to check that the simulator accepts what any correct client
sends. It exercises GET and POST actions and checks that a signature off by one
character is rejected.

Usage: CCK_ENDPOINT=... CCK_ACCESS_KEY_ID=... CCK_ACCESS_KEY_SECRET=... cck_client.py
Prints "foreign client: N passed, 0 failed" and exits 0 when every check holds.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ENDPOINT = os.environ["CCK_ENDPOINT"]
AK = os.environ["CCK_ACCESS_KEY_ID"]
SK = os.environ["CCK_ACCESS_KEY_SECRET"]


def enc(s):
    # RFC 3986: unreserved characters stay, everything else %XY (space is %20).
    return urllib.parse.quote(str(s), safe="-_.~")


def signed_url(action, method, params=None, tamper=False):
    q = {
        "Action": action,
        "AccessKeyId": AK,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": str(uuid.uuid4()),
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2019-08-08",
    }
    for k, v in (params or {}).items():
        if v != "":
            q[k] = str(v)
    canonical = "&".join(f"{enc(k)}={enc(q[k])}" for k in sorted(q))
    to_sign = method + "&%2F&" + enc(canonical)
    sig = base64.b64encode(hmac.new(SK.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if tamper:
        sig = ("B" if sig[0] != "B" else "C") + sig[1:]
    q["Signature"] = sig
    # Ordinary form encoding for the transport ('+' for spaces), as the vendor's sample does.
    return ENDPOINT + "/?" + urllib.parse.urlencode(q)


def call(action, method="GET", params=None, body=None, tamper=False):
    url = signed_url(action, method, params if method == "GET" else None, tamper)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


passed = 0


def check(cond, what):
    global passed
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        print(f"foreign client: {passed} passed, 1 failed")
        sys.exit(1)
    passed += 1


status, r = call("DescribeClusters", params={"ClusterName": "cck demo*~/é"})
check(status == 200 and r["Code"] == "Success", f"DescribeClusters with odd characters: {r}")
status, r = call("DescribeClusters")
check(r["Code"] == "Success" and len(r["Data"]) >= 1, f"DescribeClusters: {r}")
cluster = r["Data"][0]
snat = cluster["Snats"][0]["Id"]

status, r = call("CreateClusterNodes", "POST", body={
    "ClusterId": cluster["ClusterId"], "Cpu": 8, "Memory": 64,
    "AttachDisks": [{"DiskType": "HighDisk", "DiskSize": 100, "Iops": 3000}],
    "Num": 1, "Password": "cck@passHonkong1", "Type": "Worker", "InstanceType": "CCK.Memory",
    "Command": "ZWNobyAiMTIzIiA+IC9yb290LzEudHh0", "PublicId": "", "SnatIds": [snat],
    "SnatType": 1, "Lsb": "Ubuntu"})
check(r["Code"] == "Success" and r["Data"]["TaskId"], f"CreateClusterNodes: {r}")
task = r["Data"]["TaskId"]

for _ in range(200):
    status, r = call("DescribeTask", params={"TaskId": task})
    check(r["Code"] == "Success", f"DescribeTask: {r}")
    if r["Data"]["Status"].lower() in ("finish", "success", "error", "failed"):
        break
    time.sleep(0.05)
check(r["Data"]["Status"] == "Finish", f"task finished: {r}")

status, r = call("DescribeClusterNodes", params={"ClusterId": cluster["ClusterId"], "PageSize": 100})
check(r["Code"] == "Success" and r["Total"] == r["Data"]["Total"], f"DescribeClusterNodes: {r}")
workers = [n for n in r["Data"]["Nodes"] if n["Type"] == "Worker"]
check(len(workers) >= 1 and all(n["Status"] == "Ok" for n in workers), f"workers Ok: {workers}")

status, r = call("DescribeClusters", tamper=True)
check(status in (401, 403) and r["Code"] != "Success", f"tampered signature rejected: {status} {r}")

print(f"foreign client: {passed} passed, 0 failed")
