"""Verifies deliveries of antom-switch's merchant events with the Standard Webhooks reference
library (PyPI `standardwebhooks`). Usage: verify_webhooks.py SECRET DELIVERIES.json
DELIVERIES.json: [{"headers": {...}, "body": "..."}]. Exits 0 when every one verifies."""
import json
import sys

from standardwebhooks.webhooks import Webhook

secret, path = sys.argv[1], sys.argv[2]
deliveries = json.load(open(path))
hook = Webhook(secret)
for delivery in deliveries:
    payload = hook.verify(delivery["body"], delivery["headers"])
    assert payload["id"] == delivery["headers"]["webhook-id"], payload
print(f"verified {len(deliveries)} deliveries")
