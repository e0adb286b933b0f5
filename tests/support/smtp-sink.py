#!/usr/bin/env python3
"""A tiny SMTP server for tests: accepts every message and writes it to a
directory, one file per message.

    smtp-sink.py DIR [PORT]

Binds 127.0.0.1 on PORT (0 or absent: a free port) and prints "port N" on
stdout once it listens. Message k is written as DIR/k.eml (the DATA as
received, dot-unstuffed, CRLF line endings turned into LF by smtpd) and
DIR/k.json (the envelope: mail_from, rcpt_tos), each under a temporary name
then renamed, so a reader never sees half a message. A recipient whose local
part is "reject" is refused with 550 at RCPT TO. Prints "skip: ..." and exits
3 when this Python has no smtpd module (it was removed in Python 3.12). Exits
when the process that started it is gone.
"""

import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

try:
    import asyncore
    import smtpd
except ImportError as e:  # Python 3.12 and later
    print(f"skip: python3 has no smtpd/asyncore module ({e})", flush=True)
    sys.exit(3)


class Channel(smtpd.SMTPChannel):
    def smtp_RCPT(self, arg):
        address = self._strip_command_keyword("TO:", arg or "") if arg else ""
        address = address.strip().lstrip("<").split(">", 1)[0]
        if address.split("@", 1)[0].lower() == "reject":
            self.push("550 5.1.1 <%s>: mailbox unavailable" % address)
            return
        super().smtp_RCPT(arg)


class Sink(smtpd.SMTPServer):
    channel_class = Channel

    def __init__(self, directory, port):
        super().__init__(("127.0.0.1", port), None, decode_data=False)
        self.directory = directory
        self.count = 0

    def _write(self, name, data):
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.directory, name))

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.count += 1
        envelope = {"mail_from": mailfrom, "rcpt_tos": rcpttos}
        self._write("%d.json" % self.count, json.dumps(envelope).encode())
        self._write("%d.eml" % self.count, data)
        return None  # 250 OK


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    directory = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    os.makedirs(directory, exist_ok=True)
    server = Sink(directory, port)
    print("port %d" % server.socket.getsockname()[1], flush=True)
    parent = os.getppid()
    # Runs until killed, or until the test that started it is gone.
    while os.getppid() == parent:
        asyncore.loop(timeout=0.5, count=1)


if __name__ == "__main__":
    main()
