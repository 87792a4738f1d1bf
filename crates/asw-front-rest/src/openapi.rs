//! The OpenAPI 3.1 document of the merchant API, generated from the handlers' annotations and
//! the JSON types, served at `GET /openapi.json` and committed as `docs/openapi.json` (a test
//! keeps the two equal).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::buyer_json::{AcquirerJson, AddressJson, BuyerJson, CardResultJson, PaidWithJson};
use crate::model::{
    AmountJson, AntomRefs, CaptureJson, CreateCapture, CreatePayment, CreateRefund, CreateSession,
    Failure, MethodJson, NextActionJson, OrderJson, PaymentJson, PaymentListJson, RefundAntomRefs,
    RefundJson, SessionJson,
};
use crate::problem::ProblemJson;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "antom-switch merchant API",
        description = "Payments — a wallet's payment code, online wallets, hosted cards, Checkout Page sessions — their refunds and cancels, through an acquirer's antom-switch. See docs/rest-api.md and docs/online.md.",
        license(name = "Apache-2.0"),
    ),
    paths(
        crate::payments::create,
        crate::payments::show,
        crate::payments::cancel,
        crate::captures::capture,
        crate::refunds::create,
        crate::refunds::show,
        crate::orders::show,
        crate::list::list,
        crate::sessions::create,
    ),
    components(schemas(
        AcquirerJson, AddressJson, AmountJson, AntomRefs, BuyerJson, CaptureJson, CardResultJson,
        PaidWithJson, CreateCapture, CreatePayment, CreateRefund, Failure,
        MethodJson, NextActionJson, OrderJson,
        PaymentJson, PaymentListJson, RefundAntomRefs, RefundJson, ProblemJson,
        CreateSession, SessionJson
    )),
    modifiers(&BearerKey),
    tags(
        (name = "payments", description = "Payments: a scanned payment code, an online wallet, a card on Antom's hosted page, or an Antom Checkout Page session"),
        (name = "refunds", description = "Partial or full refunds of a payment"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The document as pretty JSON, with a trailing newline (the committed file's form).
pub fn document() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    add_links(&mut doc);
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Links from what a POST creates to the operations that take its id, so clients and stateful
/// testers can follow a payment to its reads, cancels and refunds. Added to the JSON because
/// utoipa 5 spells a link's `operationId` in snake case.
fn add_links(doc: &mut serde_json::Value) {
    let link = |operation: &str, from: &str| serde_json::json!({ "operationId": operation, "parameters": { "id": from } });
    let mut add = |path: &str, links: serde_json::Value| {
        if let Some(created) = doc
            .pointer_mut(&format!(
                "/paths/{}/post/responses/201",
                path.replace('/', "~1")
            ))
            .and_then(serde_json::Value::as_object_mut)
        {
            created.insert("links".into(), links);
        }
    };
    add(
        "/v1/payments",
        serde_json::json!({
            "get_payment": link("get_payment", "$response.body#/id"),
            "cancel_payment": link("cancel_payment", "$response.body#/id"),
            "create_refund": link("create_refund", "$response.body#/id"),
        }),
    );
    add(
        "/v1/sessions",
        serde_json::json!({
            "get_payment": link("get_payment", "$response.body#/id"),
            "cancel_payment": link("cancel_payment", "$response.body#/id"),
        }),
    );
    add(
        "/v1/payments/{id}/refunds",
        serde_json::json!({
            "get_refund": link("get_refund", "$response.body#/id"),
            "get_payment": link("get_payment", "$response.body#/payment_id"),
        }),
    );
}

/// `GET /openapi.json` (no key needed: it describes, it reveals nothing).
pub(crate) async fn serve() -> Response {
    let mut response = document().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is the document the code generates. After an API change, run
    /// `UPDATE_OPENAPI=1 cargo test -p asw-front-rest openapi` and commit the file.
    #[test]
    fn the_committed_openapi_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let generated = document();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("write: {e}"));
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p asw-front-rest openapi"
        );
        assert!(generated.contains("\"openapi\": \"3.1.0\""));
        assert!(
            generated.contains("\"operationId\": \"get_refund\""),
            "links are in"
        );
    }
}
