"""Interop check: the official Python SDK (global-alipay-sdk-python) against antom-sim.

Run by tests/sdk_interop.rs, which starts the simulator and passes:
  SIM_BASE_URL            http://127.0.0.1:<port>
  SIM_SANDBOX_CLIENT_ID   a SANDBOX_ client id (the SDK rewrites paths to /ams/sandbox/api)
  SIM_PROD_CLIENT_ID      a production-style client id (plain /ams/api paths)
  MERCHANT_PRIVATE_KEY    file with the merchant PKCS#1 private key, base64 body (TEST-ONLY)
  ANTOM_PUBLIC_KEY        file with the simulator's public key, base64 body (TEST-ONLY)
  WRONG_PRIVATE_KEY       file with a PKCS#1 key the simulator does not know (TEST-ONLY)

Everything about signing, headers, sandbox path rewriting and response verification is the
SDK's own code. The one thing replaced is its connection factory: the SDK always opens
HTTPS on port 443, and the simulator listens on plain HTTP on a free port.
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

import com.alipay.ams.api.net.default_http_rpc as rpc
from com.alipay.ams.api.default_alipay_client import DefaultAlipayClient
from com.alipay.ams.api.exception.exception import AlipayApiException
from com.alipay.ams.api.model.amount import Amount
from com.alipay.ams.api.model.env import Env
from com.alipay.ams.api.model.merchant import Merchant
from com.alipay.ams.api.model.order import Order
from com.alipay.ams.api.model.store import Store
from com.alipay.ams.api.request.pay.alipay_pay_cancel_request import AlipayPayCancelRequest
from com.alipay.ams.api.request.pay.alipay_pay_query_request import AlipayPayQueryRequest
from com.alipay.ams.api.request.pay.alipay_refund_query_request import AlipayRefundQueryRequest
from com.alipay.ams.api.request.pay.alipay_refund_request import AlipayRefundRequest
from com.alipay.ams.api.request.pay.user_presented_code_payment_request import (
    UserPresentedCodePaymentRequest,
)
from com.alipay.ams.api.response.pay.alipay_pay_response import AlipayPayResponse
from com.alipay.ams.api.tools.date_tools import get_cur_iso8601_time


def plain_http_connection(url, timeout=15):
    parsed = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(host=parsed.hostname, port=parsed.port, timeout=timeout)


# Module-level double-underscore names are not mangled: this is the SDK's own global.
setattr(rpc, "__get_http_connection", plain_http_connection)


def read(name):
    with open(os.environ[name], encoding="utf-8") as f:
        return f.read().strip()


BASE = os.environ["SIM_BASE_URL"]
PRIVATE_KEY = read("MERCHANT_PRIVATE_KEY")
ANTOM_PUBLIC_KEY = read("ANTOM_PUBLIC_KEY")
RUN = str(int(time.time() * 1000))


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)
    print("ok: " + what)


def upm_request(prid, amount, code):
    order = Order()
    order.order_description = "antom-sim interop"
    order.order_amount = Amount("SGD", amount)
    merchant = Merchant()
    merchant.reference_merchant_id = "M0001"
    merchant.merchant_mcc = "5411"
    merchant.merchant_name = "Demo Mart"
    store = Store()
    store.reference_store_id = "S0001"
    store.store_name = "Demo Mart Orchard"
    store.store_mcc = "5411"
    merchant.store = store
    order.merchant = merchant
    order.env = Env()
    order.env.store_terminal_id = "T0001"
    order.env.store_terminal_request_time = get_cur_iso8601_time()
    return UserPresentedCodePaymentRequest(
        payment_request_id=prid,
        order=order,
        currency="SGD",
        amount_in_cents=amount,
        payment_code=code,
    )


def flow(client_id):
    client = DefaultAlipayClient(BASE, client_id, PRIVATE_KEY, ANTOM_PUBLIC_KEY)
    tag = client_id + ": "

    # pay (UPM); execute() verifies the response signature or raises.
    prid = "sdk-" + client_id + "-" + RUN
    rsp = client.execute(upm_request(prid, "1234", "281012345678901200"))
    pay = AlipayPayResponse(rsp)
    check(pay.result.result_status.value == "S", tag + "pay S (signature verified by the SDK)")
    body = json.loads(rsp)
    payment_id = body["paymentId"]
    check(body["paymentAmount"] == {"currency": "SGD", "value": "1234"}, tag + "pay amount echoed as strings")

    # inquiryPayment
    q = AlipayPayQueryRequest()
    q.payment_request_id = prid
    body = json.loads(client.execute(q))
    check(body["paymentStatus"] == "SUCCESS", tag + "inquiryPayment SUCCESS")

    # refund (partial) and inquiryRefund
    r = AlipayRefundRequest()
    r.refund_request_id = "sdk-refund-" + client_id + "-" + RUN
    r.payment_id = payment_id
    r.refund_amount = Amount("SGD", "234")
    body = json.loads(client.execute(r))
    check(body["result"]["resultCode"] == "SUCCESS", tag + "refund S")
    rq = AlipayRefundQueryRequest()
    rq.refund_request_id = r.refund_request_id
    body = json.loads(client.execute(rq))
    check(body["refundStatus"] == "SUCCESS", tag + "inquiryRefund SUCCESS")

    # a second payment, cancelled
    prid2 = prid + "-c"
    body = json.loads(client.execute(upm_request(prid2, "500", "281012345678901200")))
    check(body["result"]["resultStatus"] == "S", tag + "second pay S")
    c = AlipayPayCancelRequest()
    c.payment_request_id = prid2
    body = json.loads(client.execute(c))
    check(body["result"]["resultCode"] == "SUCCESS" and "cancelTime" in body, tag + "cancel S")
    q = AlipayPayQueryRequest()
    q.payment_request_id = prid2
    body = json.loads(client.execute(q))
    check(body["paymentStatus"] == "CANCELLED", tag + "inquiry after cancel CANCELLED")

    # a decline by scenario code
    body = json.loads(client.execute(upm_request(prid + "-d", "100", "281012345678901210")))
    check(body["result"]["resultCode"] == "USER_BALANCE_NOT_ENOUGH", tag + "decline F")


flow(os.environ["SIM_SANDBOX_CLIENT_ID"])
flow(os.environ["SIM_PROD_CLIENT_ID"])

# A request signed with a key the simulator does not know: the answer is unsigned, which
# this SDK refuses ("signature not exist").
stranger = DefaultAlipayClient(BASE, os.environ["SIM_SANDBOX_CLIENT_ID"], read("WRONG_PRIVATE_KEY"), ANTOM_PUBLIC_KEY)
q = AlipayPayQueryRequest()
q.payment_request_id = "whatever"
try:
    stranger.execute(q)
    check(False, "unsigned INVALID_SIGNATURE answer must be refused")
except AlipayApiException as e:
    check("signature not exist" in str(e), "bad request signature -> unsigned answer -> SDK refuses it")

print("SDK_INTEROP_OK")
