//! The hosted wallet page that `normalUrl` points to (plain HTML forms, no JavaScript):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/checkout/wallet/{paymentId}` | merchant, order, amount, wallet, and the buttons `data-action="approve"`, `"decline"`, `"leave"` |
//! | POST | `/checkout/wallet/{paymentId}/{approve\|decline\|leave}` | the buyer's choice, then `303 See Other` to `paymentRedirectUrl`, unchanged |
//! | GET | `/checkout/wallet/{paymentId}/qr` | the `BIGIMAGE` of `orderCodeForm`: a placeholder SVG, not a scannable code |
//!
//! An unknown id (or an in-store payment) is a 404 page. Every merchant-given text is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;

use crate::ledger::{BuyerAction, WalletPage};
use crate::server::Shared;

/// Where the buyer's pages live.
pub(crate) const PREFIX: &str = "/checkout/";

/// Serves one page request (the body of a POST is not needed: the action is in the path).
pub(crate) fn handle<B>(shared: &Arc<Shared>, req: &Request<B>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path
        .strip_prefix(PREFIX)
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let method = req.method();
    match segments.as_slice() {
        ["wallet", id] if method == Method::GET || method == Method::HEAD => {
            match wallet_only(shared, id) {
                Some(page) => html(StatusCode::OK, &wallet_page(&page)),
                None => not_found(),
            }
        }
        ["wallet", id, "qr"] if method == Method::GET || method == Method::HEAD => {
            match wallet_only(shared, id) {
                Some(page) => qr_placeholder(&page),
                None => not_found(),
            }
        }
        ["wallet", id, action] if method == Method::POST => {
            let Some(action) = BuyerAction::parse(action) else {
                return not_found();
            };
            // A card payment is only paid through its card form.
            if wallet_only(shared, id).is_none() {
                return not_found();
            }
            match crate::buyer::act(shared, id, action, None) {
                Some(outcome) => see_other(&outcome.redirect_url),
                None => not_found(),
            }
        }
        ["wallet", ..] => html(
            StatusCode::METHOD_NOT_ALLOWED,
            &page_shell(
                "Not allowed",
                "<p>This page does not accept that method.</p>",
            ),
        ),
        _ => not_found(),
    }
}

/// The page data of a wallet payment; `None` for an unknown id, in-store or card payment.
fn wallet_only(shared: &Shared, id: &str) -> Option<WalletPage> {
    shared
        .ledger
        .wallet_page(id, shared.clock.now(), &shared.cfg)
        .filter(|page| !page.is_card)
}

/// An HTML answer that is never cached (the page shows the payment's live status).
pub(crate) fn html(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_owned())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The 404 page.
pub(crate) fn not_found() -> Response<Full<Bytes>> {
    html(
        StatusCode::NOT_FOUND,
        &page_shell("Payment not found", "<p>This payment does not exist.</p>"),
    )
}

/// `303 See Other`: the browser follows with a GET, whatever the form's method was.
pub(crate) fn see_other(location: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SEE_OTHER;
    // Checked when the pay was accepted; a value that still does not fit gets no header
    // rather than a changed URL.
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// ISO 4217 minor-unit exponent of the currencies whose exponent is not 2.
fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `SGD 12.50` from `SGD` and `1250` minor units.
pub(crate) fn display_amount(currency: &str, minor: &str) -> String {
    let exp = usize::try_from(exponent(currency)).unwrap_or(2);
    if exp == 0 {
        return format!("{currency} {minor}");
    }
    let padded = format!("{minor:0>width$}", width = exp + 1);
    let (units, cents) = padded.split_at(padded.len() - exp);
    format!("{currency} {units}.{cents}")
}

/// A whole HTML document around `body`.
pub(crate) fn page_shell(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

fn wallet_page(page: &WalletPage) -> String {
    let id = escape(&page.payment_id);
    let amount = escape(&display_amount(&page.currency, &page.value));
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{wallet}</h1>\n\
         <p class=\"merchant\">Pay to <strong>{merchant}</strong></p>\n\
         <p class=\"order\">Order {order}: {description}</p>\n\
         <p class=\"amount\" data-amount=\"{amount}\">{amount}</p>\n\
         <p class=\"status\" data-status=\"{status}\">Status: {status} (payable until {expires})</p>\n",
        wallet = escape(page.wallet_name),
        merchant = escape(&page.merchant_name),
        order = escape(&page.reference_order_id),
        description = escape(&page.order_description),
        status = page.status,
        expires = escape(&page.expires_at),
    );
    for (action, label) in [
        (BuyerAction::Approve, "Pay"),
        (BuyerAction::Decline, "Decline (insufficient balance)"),
        (BuyerAction::Leave, "Leave without paying"),
    ] {
        let action = action.as_str();
        let _ = writeln!(
            body,
            "<form method=\"post\" action=\"/checkout/wallet/{id}/{action}\">\
             <button type=\"submit\" data-action=\"{action}\">{label}</button></form>"
        );
    }
    page_shell(&format!("{} - {amount}", page.wallet_name), &body)
}

fn qr_placeholder(page: &WalletPage) -> Response<Full<Bytes>> {
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"240\">\
         <rect width=\"240\" height=\"240\" fill=\"#fff\" stroke=\"#000\"/>\
         <text x=\"120\" y=\"115\" text-anchor=\"middle\" font-size=\"14\">antom-sim</text>\
         <text x=\"120\" y=\"135\" text-anchor=\"middle\" font-size=\"10\">{}</text></svg>",
        escape(&page.payment_id)
    );
    let mut resp = Response::new(Full::new(Bytes::from(svg)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(display_amount("SGD", "1250"), "SGD 12.50");
        assert_eq!(display_amount("SGD", "5"), "SGD 0.05");
        assert_eq!(display_amount("JPY", "1000"), "JPY 1000");
        assert_eq!(display_amount("KWD", "1250"), "KWD 1.250");
    }

    #[test]
    fn merchant_text_is_escaped() {
        assert_eq!(
            escape(r#"<b>"A&B's"</b>"#),
            "&lt;b&gt;&quot;A&amp;B&#39;s&quot;&lt;/b&gt;"
        );
    }
}
