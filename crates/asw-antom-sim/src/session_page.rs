//! The hosted Checkout Page of a session (`normalUrl` of `createPaymentSession`; plain HTML
//! forms, no JavaScript):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/checkout/session/{paymentSessionId}` | order, amount, expiry and one button per method, `data-method="<TYPE>"` |
//! | POST | `/checkout/session/{paymentSessionId}/{TYPE}` | the buyer picks a method: the session's payment is created, then `303` to that method's page (the wallet page, or the card page), where approve / decline / leave go on as for any online payment and end at `paymentRedirectUrl`, unchanged |
//! | GET | `/checkout/sdk?sessionData=…` | what an embedded page does with `paymentSessionData`: `303` to the session's page |
//!
//! An unknown session is a 404 page; a cancelled or expired one, or a method not offered, a
//! 409 page. Every merchant-given text is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::card::CARD_METHOD_TYPE;
use crate::ledger::{SessionView, SubmitRefusal};
use crate::pages::{display_amount, escape, html, not_found, page_shell, see_other};
use crate::server::Shared;
use crate::session::{PAGE_PREFIX, session_id_of_data};
use crate::wallets;

/// The embedded-page stand-in.
pub(crate) const SDK_PATH: &str = "/checkout/sdk";

/// Serves one request under [`PAGE_PREFIX`] or [`SDK_PATH`] (no body needed: the choice is
/// in the path).
pub(crate) fn handle<B>(shared: &Arc<Shared>, req: &Request<B>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/');
    let method = req.method();
    let readable = method == Method::GET || method == Method::HEAD;
    if path == SDK_PATH {
        let data = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "sessionData")
                .map(|(_, v)| v.into_owned())
        });
        let page = data.as_deref().and_then(session_id_of_data).and_then(|id| {
            shared
                .ledger
                .session_view(id, shared.clock.now(), &shared.cfg)
        });
        return match page {
            Some(view) if readable => see_other(&view.normal_url),
            _ => not_found(),
        };
    }
    let segments: Vec<&str> = path
        .strip_prefix(PAGE_PREFIX)
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let now = shared.clock.now();
    match segments.as_slice() {
        [id] if readable => match shared.ledger.session_view(id, now, &shared.cfg) {
            Some(view) => html(StatusCode::OK, &checkout_page(&view)),
            None => not_found(),
        },
        [id, chosen] if method == Method::POST => match submit(shared, id, chosen) {
            Ok((page, _, _)) => see_other(&page),
            Err(SubmitRefusal::Unknown) => not_found(),
            Err(refusal) => html(
                StatusCode::CONFLICT,
                &page_shell(
                    "Cannot pay",
                    &format!("<p class=\"error\">{}</p>", escape(refusal_text(&refusal))),
                ),
            ),
        },
        _ => html(
            StatusCode::METHOD_NOT_ALLOWED,
            &page_shell(
                "Not allowed",
                "<p>This page does not accept that method.</p>",
            ),
        ),
    }
}

/// The buyer picks `method` on session `id` (the page's button and the control hook): the
/// payment's own page, where the buyer goes on, and the payment's `paymentId` and
/// `paymentRequestId`.
pub(crate) fn submit(
    shared: &Arc<Shared>,
    id: &str,
    method: &str,
) -> Result<(String, String, String), SubmitRefusal> {
    let submitted = shared
        .ledger
        .submit_session(id, method, shared.clock.now(), &shared.cfg)?;
    shared.run_effects(submitted.effects, None);
    let page = crate::online::normal_url(&shared.cfg, &submitted.payment_id, submitted.is_card);
    Ok((page, submitted.payment_id, submitted.payment_request_id))
}

/// What a refused choice says.
pub(crate) fn refusal_text(refusal: &SubmitRefusal) -> &'static str {
    match refusal {
        SubmitRefusal::Unknown => "This session does not exist.",
        SubmitRefusal::Closed(why) => why,
        SubmitRefusal::NotOffered => "This payment method is not offered for this order.",
        SubmitRefusal::BuyerRequired => {
            "Card payments need the buyer's details, which the merchant did not send."
        }
    }
}

fn method_name(method: &str) -> &'static str {
    if method == CARD_METHOD_TYPE {
        return "Card";
    }
    wallets::find(method).map_or("Other", |w| w.display_name)
}

fn checkout_page(view: &SessionView) -> String {
    let amount = escape(&display_amount(&view.currency, &view.amount));
    let id = escape(&view.session_id);
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Checkout</h1>\n\
         <p class=\"order\">Order {order}: {description}</p>\n\
         <p class=\"amount\" data-amount=\"{amount}\">{amount}</p>\n\
         <p class=\"status\" data-status=\"{status}\">Status: {status} (open until {expires})</p>\n\
         <h2>Choose how to pay</h2>\n<ul class=\"methods\">\n",
        order = escape(&view.reference_order_id),
        description = escape(&view.order_description),
        status = escape(&view.status),
        expires = escape(&view.expires_at),
    );
    for method in &view.methods {
        let method = escape(method);
        let _ = writeln!(
            body,
            "<li><form method=\"post\" action=\"{PAGE_PREFIX}{id}/{method}\">\
             <button type=\"submit\" data-method=\"{method}\">{name}</button></form></li>",
            name = escape(method_name(&method)),
        );
    }
    body.push_str("</ul>\n");
    page_shell(&format!("Checkout - {amount}"), &body)
}
