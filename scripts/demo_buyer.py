"""The demo's buyer: headless Debian Chromium driven over WebDriver (chromedriver), opening the
wallet's hosted page, saving a screenshot of it, clicking a button and following the browser
back to the shop's return page (screenshot too).

    demo_buyer.py CHROMEDRIVER_PORT PAGE_URL ACTION PAGE_PNG RETURN_PNG [CARD_NUMBER | method:TYPE]

With CARD_NUMBER the page is the hosted card page: the buyer types the card first. With
method:TYPE the page is a Checkout Page session: the buyer picks TYPE there (the screenshot is
of that page), then clicks ACTION on the method's own page.
Only the standard library: WebDriver is JSON over HTTP, and the demo needs a handful of calls.
"""
import base64
import json
import sys
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}").get("value")


def screenshot(base, session, path):
    png = call(base, "GET", f"/session/{session}/screenshot")
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))


def main():
    port, page, action, page_png, return_png = sys.argv[1:6]
    extra = sys.argv[6] if len(sys.argv) > 6 else None
    method = extra[len("method:"):] if extra and extra.startswith("method:") else None
    card = None if method else extra
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):  # chromedriver takes a moment to listen
        try:
            call(base, "GET", "/status")
            break
        except OSError:
            time.sleep(0.1)
    caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=760,640"]}}}}
    session = call(base, "POST", "/session", caps)["sessionId"]
    try:
        call(base, "POST", f"/session/{session}/url", {"url": page})
        if card:
            for name, value in (("card_number", card), ("expiry", "12/30"), ("cvv", "123"),
                                ("holder", "A Buyer")):
                field = call(base, "POST", f"/session/{session}/element",
                             {"using": "css selector", "value": f'input[name="{name}"]'})
                call(base, "POST", f"/session/{session}/element/{field[ELEMENT]}/value",
                     {"text": value})
        screenshot(base, session, page_png)
        if method:
            chosen = call(base, "POST", f"/session/{session}/element",
                          {"using": "css selector", "value": f'[data-method="{method}"]'})
            call(base, "POST", f"/session/{session}/element/{chosen[ELEMENT]}/click", {})
            for _ in range(150):
                page = call(base, "GET", f"/session/{session}/url")
                if "/checkout/session/" not in page:
                    break
                time.sleep(0.1)
        button = call(base, "POST", f"/session/{session}/element",
                      {"using": "css selector", "value": f'[data-action="{action}"]'})
        call(base, "POST", f"/session/{session}/element/{button[ELEMENT]}/click", {})
        for _ in range(150):
            at = call(base, "GET", f"/session/{session}/url")
            if at != page and "/checkout/" not in at:
                break
            time.sleep(0.1)
        screenshot(base, session, return_png)
        print(at)
    finally:
        call(base, "DELETE", f"/session/{session}")


if __name__ == "__main__":
    main()
