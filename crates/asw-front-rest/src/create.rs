//! What `POST /v1/payments` and `POST /v1/sessions` share: who asks under which
//! `Idempotency-Key`, running the core's flow, and the record the answer is made from (a first
//! answer already given is replayed by [`crate::http::respond_saved`]).

use std::sync::Arc;

use asw_core::domain::PaymentRequestId;
use asw_core::flows::{Answer, Core, RequestKey};
use asw_core::record::TransactionRecord;
use axum::body::Body;
use axum::http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RestFront;
use crate::auth::Caller;
use crate::http::{
    authenticate, fingerprint, idempotency_key, read_json, run_flow_keeping, store_problem,
};
use crate::ids;
use crate::limits::Permit;
use crate::problem::Problem;
use crate::reply::{ChannelReply, KeptAnswer};

/// A create request checked this far: its caller (holding an in-flight permit), its body, the
/// body's fingerprint and the request's identity.
pub(crate) struct Opened<T> {
    /// Who asks.
    pub caller: Caller,
    /// The caller's in-flight slot, held until the answer is written.
    pub _permit: Permit,
    /// The body.
    pub create: T,
    /// The body's fingerprint (a re-send with another body is refused).
    pub fingerprint: String,
    /// The request's identity, derived from the caller, the key and the order.
    pub request: RequestKey,
}

/// Authenticates and reads the key and the body. A key seen before is not looked up here: the
/// core finds its journal record (the same key names the same request), refuses another body
/// under it, and [`crate::http::respond_saved`] answers the first saved bytes — so a new
/// payment, the common case, costs no read of saved responses. `order_id` names the order in
/// the body.
pub(crate) async fn open<T: DeserializeOwned + Serialize>(
    front: &RestFront,
    headers: &HeaderMap,
    body: Body,
    order_id: impl Fn(&T) -> &str,
) -> Result<Opened<T>, Problem> {
    let (caller, permit) = authenticate(front, headers)?;
    let key = idempotency_key(headers)?;
    let create: T = read_json(headers, body, front.settings.max_body_bytes).await?;
    let fingerprint = fingerprint(&create);
    let request = ids::request_key(front.core.ids(), &caller, &key, order_id(&create).trim());
    Ok(Opened {
        caller,
        _permit: permit,
        create,
        fingerprint,
        request,
    })
}

/// Runs a create's flow and returns its answer (when it came in time) and the record the
/// answer was made from — read back only when the flow stopped waiting first. `what` names
/// the thing created in the "not readable yet" problem.
pub(crate) async fn run<F, Fut>(
    front: &RestFront,
    caller: &Caller,
    prid: &PaymentRequestId,
    what: &str,
    kept: Option<Arc<KeptAnswer>>,
    flow: F,
) -> Result<(Option<Answer>, Arc<TransactionRecord>), Problem>
where
    F: FnOnce(Arc<Core>, Box<ChannelReply>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let answer = run_flow_keeping(front, kept, flow)
        .await
        .map_err(|mut problem| {
            // The key names the payment: a caller whose first request got no answer (a dropped
            // connection, a restarted switch) learns its id here, to read or cancel it.
            if problem.code == "idempotency_key_in_use" {
                problem.payment_id = Some(ids::payment_id(prid));
            }
            problem
        })?;
    let record = match answer.as_ref().and_then(|a| a.record.clone()) {
        Some(record) => record,
        None => Arc::new(
            front
                .core
                .find_payment(&caller.origin(), prid.as_str())
                .await
                .map_err(store_problem)?
                .ok_or_else(|| {
                    Problem::unavailable(format!(
                        "the {what} is not readable yet; retry with the same Idempotency-Key"
                    ))
                })?,
        ),
    };
    Ok((answer, record))
}
