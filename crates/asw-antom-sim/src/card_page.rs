//! The hosted card page that a card payment's `normalUrl` points to (a plain HTML form, no
//! JavaScript):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/checkout/card/{paymentId}` | merchant, order, amount, and a form with `card_number`, `expiry` (MM/YY), `cvv`, `holder` and the button `data-action="approve"`; a `data-action="leave"` button |
//! | POST | `/checkout/card/{paymentId}/approve` | the form (`application/x-www-form-urlencoded`): the card is checked and authorized or refused, then `303 See Other` to `paymentRedirectUrl`, unchanged |
//! | POST | `/checkout/card/{paymentId}/{decline\|leave}` | refuse (`DO_NOT_HONOR`) or go back without paying, then the same `303` |
//!
//! An unknown id, an in-store or a wallet payment is a 404 page.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::card::CardForm;
use crate::ledger::{BuyerAction, WalletPage};
use crate::pages::{display_amount, escape, html, not_found, page_shell, see_other};
use crate::server::Shared;

/// Where the card pages live.
pub(crate) const PREFIX: &str = "/checkout/card/";

/// Largest form body read; a card form is a few hundred bytes.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// Serves one card page request.
pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path
        .strip_prefix(PREFIX)
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let method = req.method().clone();
    match segments.as_slice() {
        [id] if method == Method::GET || method == Method::HEAD => match card_only(shared, id) {
            Some(page) => html(StatusCode::OK, &card_page(&page)),
            None => not_found(),
        },
        [id, action] if method == Method::POST => {
            let Some(action) = BuyerAction::parse(action) else {
                return not_found();
            };
            if card_only(shared, id).is_none() {
                return not_found();
            }
            let id = (*id).to_owned();
            // An unreadable or oversized body is an empty form: the card is then refused as
            // invalid, like a form posted with nothing typed in.
            let body = Limited::new(req.into_body(), MAX_FORM_BYTES)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let form = CardForm::from_form(&body);
            match crate::buyer::act(shared, &id, action, Some(&form)) {
                Some(outcome) => see_other(&outcome.redirect_url),
                None => not_found(),
            }
        }
        _ => html(
            StatusCode::METHOD_NOT_ALLOWED,
            &page_shell(
                "Not allowed",
                "<p>This page does not accept that method.</p>",
            ),
        ),
    }
}

/// The page data of a card payment; `None` for an unknown id or any other payment.
fn card_only(shared: &Shared, id: &str) -> Option<WalletPage> {
    shared
        .ledger
        .wallet_page(id, shared.clock.now(), &shared.cfg)
        .filter(|page| page.is_card)
}

fn card_page(page: &WalletPage) -> String {
    let id = escape(&page.payment_id);
    let amount = escape(&display_amount(&page.currency, &page.value));
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Card payment</h1>\n\
         <p class=\"merchant\">Pay to <strong>{merchant}</strong></p>\n\
         <p class=\"order\">Order {order}: {description}</p>\n\
         <p class=\"amount\" data-amount=\"{amount}\">{amount}</p>\n\
         <p class=\"status\" data-status=\"{status}\">Status: {status} (payable until {expires})</p>\n\
         <form method=\"post\" action=\"/checkout/card/{id}/approve\">\n\
         <label>Card number <input name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" required></label>\n\
         <label>Expiry (MM/YY) <input name=\"expiry\" placeholder=\"MM/YY\" autocomplete=\"cc-exp\" required></label>\n\
         <label>CVV <input name=\"cvv\" inputmode=\"numeric\" autocomplete=\"cc-csc\" required></label>\n\
         <label>Name on card <input name=\"holder\" autocomplete=\"cc-name\"></label>\n\
         <button type=\"submit\" data-action=\"approve\">Pay</button>\n\
         </form>\n\
         <form method=\"post\" action=\"/checkout/card/{id}/leave\">\
         <button type=\"submit\" data-action=\"leave\">Back to the shop without paying</button></form>\n\
         <p class=\"hint\">Test cards: 4242 4242 4242 4242 is authorized, 4000 0000 0000 0002 is declined.</p>\n",
        merchant = escape(&page.merchant_name),
        order = escape(&page.reference_order_id),
        description = escape(&page.order_description),
        status = page.status,
        expires = escape(&page.expires_at),
    );
    page_shell(&format!("Card - {amount}"), &body)
}
