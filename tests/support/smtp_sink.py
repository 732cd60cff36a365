"""A loopback SMTP server for bookme's email tests.

Usage: python3 smtp_sink.py PORT OUTDIR

Every message received is decoded with Python's own email package (an
implementation independent of lettre) and written to OUTDIR as N.json:
subject, from, to, the text and HTML parts, and the raw headers.
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "subject": str(msg["subject"]),
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "rcpt_tos": envelope.rcpt_tos,
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text else None,
            "text_charset": text.get_content_charset() if text else None,
            "html": html.get_content() if html else None,
            # The header block as sent, to check how it was encoded.
            "raw_head": envelope.content.split(b"\r\n\r\n", 1)[0].decode(
                "utf-8", errors="replace"
            ),
        }
        self.count += 1
        path = os.path.join(self.outdir, f"{self.count}.json")
        # Write then rename, so the test never reads half a file.
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
