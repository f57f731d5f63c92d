#!/usr/bin/env python3
"""A webhook receiver that verifies Campanile's signatures with the off-the-shelf
Standard Webhooks library (pip install standardwebhooks).

    WEBHOOK_SECRET=whsec_... python3 webhook_receiver.py 9000

Prints each verified delivery; answers 401 to a bad signature (Campanile then records
the delivery as dead: a 4xx other than 408/429 is final).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

hook = Webhook(os.environ["WEBHOOK_SECRET"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            payload = hook.verify(body, dict(self.headers))
        except WebhookVerificationError as e:
            print(f"rejected: {e}", flush=True)
            self.send_response(401)
            self.end_headers()
            return
        print(f"verified {self.headers['webhook-id']}: {json.dumps(payload)}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1] if len(sys.argv) > 1 else 9000)), Handler).serve_forever()
