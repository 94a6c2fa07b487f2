#!/usr/bin/python3
"""An independent mail-flow client (Python's smtplib, imaplib and poplib):
what a plain client sees on a host, to compare with msguard's probe.

Usage: mailflow_client.py SMTP_PORT IMAP_PORT POP3_PORT USER ADDRESS WAIT_SECONDS
The password comes from the environment (PROBE_PASSWORD), never argv.
Prints one JSON object: the tag of its message and, per leg, whether it
worked and the server's words when it did not. It deletes its message
wherever a protocol lets it (IMAP STORE \\Deleted + EXPUNGE, POP3 DELE).
"""
import imaplib
import json
import os
import poplib
import secrets
import smtplib
import sys
import time
from email.message import EmailMessage

HOST = "127.0.0.1"


def text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if isinstance(x, (list, tuple)):
        return " ".join(text(i) for i in x)
    return str(x)


def main():
    smtp_port, imap_port, pop_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    user, address, wait = sys.argv[4], sys.argv[5], float(sys.argv[6])
    password = os.environ["PROBE_PASSWORD"]
    tag = "python-client-" + secrets.token_hex(8)
    out = {"tag": tag}

    msg = EmailMessage()
    msg["From"] = address
    msg["To"] = address
    msg["Subject"] = "independent client " + tag
    msg["Message-ID"] = "<%s@siroe.com>" % tag
    msg.set_content("sent by the independent client " + tag)
    try:
        with smtplib.SMTP(HOST, smtp_port, timeout=30) as s:
            s.ehlo("localhost")
            if s.has_extn("starttls"):
                s.starttls()
                s.ehlo("localhost")
            refused = s.send_message(msg)
            out["submit"] = {"ok": not refused}
    except smtplib.SMTPRecipientsRefused as e:
        (code, reply), = e.recipients.values()
        out["submit"] = {"ok": False, "reply": "%d %s" % (code, text(reply))}
    except smtplib.SMTPResponseException as e:
        out["submit"] = {"ok": False, "reply": "%d %s" % (e.smtp_code, text(e.smtp_error))}

    imap = {"ok": False}
    out["imap"] = imap
    if out["submit"]["ok"]:
        try:
            m = imaplib.IMAP4(HOST, imap_port, timeout=30)
            try:
                if "STARTTLS" in m.capabilities:
                    m.starttls()
                m.login(user, password)
                imap["login"] = True
                m.select("INBOX")
                deadline = time.time() + wait
                found = []
                while time.time() < deadline:
                    typ, data = m.search(None, "HEADER", "Message-ID", tag)
                    found = data[0].split() if typ == "OK" and data[0] else []
                    if found:
                        break
                    time.sleep(0.2)
                    m.noop()
                if found:
                    typ, body = m.fetch(found[0], "(BODY.PEEK[])")
                    imap["ok"] = typ == "OK" and tag in text(body[0][1])
                    imap["found"] = True
                else:
                    imap["reply"] = "not in INBOX after %gs" % wait
                    imap["found"] = False
                m.logout()
            except imaplib.IMAP4.error as e:
                imap["reply"] = text(e.args[0] if e.args else e)
                imap["login"] = imap.get("login", False)
        except OSError as e:
            imap["reply"] = str(e)

    pop = {"ok": False}
    out["pop3"] = pop
    if out["submit"]["ok"] and pop_port:
        # A POP3 session sees the maildrop as it was at login: log in
        # again until the message is there or the wait is over.
        deadline = time.time() + wait
        while True:
            try:
                p = poplib.POP3(HOST, pop_port, timeout=30)
                try:
                    try:
                        if "STLS" in p.capa():
                            p.stls()
                    except poplib.error_proto:
                        pass
                    p.user(user)
                    p.pass_(password)
                    pop["login"] = True
                    count = len(p.list()[1])
                    hits = [n for n in range(count, 0, -1) if tag in text(p.top(n, 0)[1])]
                    pop["found"] = bool(hits)
                    for n in hits:
                        p.dele(n)
                    pop["ok"] = bool(hits)
                    if not hits:
                        pop["reply"] = "not in the maildrop after %gs" % wait
                    else:
                        pop.pop("reply", None)
                    p.quit()
                except poplib.error_proto as e:
                    pop["reply"] = text(e.args[0] if e.args else e)
                    pop["login"] = pop.get("login", False)
                    p.close()
                    break
            except OSError as e:
                pop["reply"] = str(e)
                break
            if pop["ok"] or time.time() >= deadline:
                break
            time.sleep(0.2)

    # What POP3 did not delete, IMAP does (and the other way round).
    if out["submit"]["ok"]:
        try:
            m = imaplib.IMAP4(HOST, imap_port, timeout=30)
            if "STARTTLS" in m.capabilities:
                m.starttls()
            m.login(user, password)
            m.select("INBOX")
            typ, data = m.search(None, "HEADER", "Message-ID", tag)
            for n in (data[0].split() if typ == "OK" and data[0] else []):
                m.store(n, "+FLAGS", "\\Deleted")
            m.expunge()
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
