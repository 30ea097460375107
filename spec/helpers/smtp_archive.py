"""A real SMTP server for the smtp sink's tests: aiosmtpd (Debian's
python3-aiosmtpd) with a handler of our own, because the stock Mailbox
handler parses each message and adds X-Peer/X-MailFrom/X-RcptTo headers,
so it cannot show byte-identical arrival.

Each message accepted for RCPT is written as received (dot-stuffing undone,
CR LF kept) to ROOT/<rcpt>/new/<arrival number>. Every DATA, accepted or
not, is one JSON line in ROOT/arrivals.jsonl. Rules in ROOT/rules.json,
read again at each DATA, make it answer otherwise for messages holding a
given text:
  {"match": TEXT, "reply": "451 4.3.0 busy", "times": 2}   the first 2 such DATA get 451; later ones are stored
  {"match": TEXT, "reply": "554 5.7.1 refused", "times": -1}   always refused
  {"match": TEXT, "hold": SECONDS}   stored, then the 250 is held back that long
With --dedupe it is an archive that skips a Message-ID it holds (as
MHonArc does; public-inbox when the content is the same too): answered
250, not stored.

Run with Debian's Python: /usr/bin/python3 smtp_archive.py --listen 127.0.0.1:0 --root DIR
It prints "listening on PORT" once it accepts connections. Each arrival
records the client's port: one port for many messages is one connection.
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import ssl
import sys
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Archive:
    def __init__(self, root, dedupe):
        self.root = root
        self.dedupe = dedupe
        self.counts = {}
        os.makedirs(root, exist_ok=True)
        self.log = os.path.join(root, "arrivals.jsonl")
        self.number = sum(1 for _ in open(self.log)) if os.path.exists(self.log) else 0

    async def handle_DATA(self, server, session, envelope):
        self.number += 1
        content = envelope.original_content
        digest = hashlib.sha256(content).hexdigest()
        headers = BytesHeaderParser().parsebytes(content)
        message_id = re.sub(r"\s", "", str(headers.get("Message-ID", "")))
        entry = {
            "n": self.number,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message_id": message_id,
            "sha256": digest,
            "mail_options": envelope.mail_options,
            "client_port": session.peer[1],
        }
        rule = self.rule_for(content)
        if rule is not None and "reply" in rule:
            entry["outcome"] = rule["reply"]
            self.write_log(entry)
            return rule["reply"]
        outcomes = [self.store(rcpt, content, message_id or "sha256:" + digest) for rcpt in envelope.rcpt_tos]
        entry["outcome"] = "duplicate" if all(o == "duplicate" for o in outcomes) else "stored"
        self.write_log(entry)
        if rule is not None and "hold" in rule:
            await asyncio.sleep(rule["hold"])
        return f"250 2.0.0 Ok: arrival {self.number}"

    def rule_for(self, content):
        """The first rule whose text the message holds and whose count is not used up."""
        path = os.path.join(self.root, "rules.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            rules = json.load(f)
        for i, rule in enumerate(rules):
            if rule["match"].encode() not in content:
                continue
            times = rule.get("times", -1)
            used = self.counts.get(i, 0)
            if times >= 0 and used >= times:
                continue
            self.counts[i] = used + 1
            return rule
        return None

    def store(self, rcpt, content, key):
        box = os.path.join(self.root, re.sub(r"[^A-Za-z0-9@._+-]", "_", rcpt.lower()))
        os.makedirs(os.path.join(box, "new"), exist_ok=True)
        os.makedirs(os.path.join(box, "tmp"), exist_ok=True)
        ids = os.path.join(box, "ids")
        if self.dedupe and os.path.exists(ids):
            with open(ids) as f:
                if key + "\n" in f.readlines():
                    return "duplicate"
        name = f"{self.number:06d}"
        tmp = os.path.join(box, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, os.path.join(box, "new", name))
        with open(ids, "a") as f:
            f.write(key + "\n")
        return "stored"

    def write_log(self, entry):
        with open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False)
    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--dedupe", action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (SMTPS) instead of STARTTLS")
    parser.add_argument("--auth", help="USER:PASSWORD, then required")
    parser.add_argument("--size", type=int, help="largest message taken (announced as SIZE)")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    options = {"hostname": "archive.test"}
    if args.size:
        options["data_size_limit"] = args.size
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if not args.implicit_tls:
            options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)
        # aiosmtpd sees TLS only when it did the STARTTLS itself: with SMTPS the socket is TLS already.
        options.update(authenticator=authenticator(user, password), auth_required=True, auth_require_tls=bool(args.tls_cert) and not args.implicit_tls)
    handler = Archive(args.root, args.dedupe)
    loop = asyncio.get_running_loop()
    implicit = context if args.implicit_tls else None
    server = await loop.create_server(lambda: SMTP(handler, **options), host, int(port), ssl=implicit)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
