//! notifyPayment delivery: signed with the Antom key over the notify URL's path, sent after
//! a delay and re-sent on Antom's schedule until the exact SUCCESS acknowledgement comes back.

use std::sync::Arc;
use std::time::Duration;

use http::header;

use crate::ledger::{NotifyJob, format_time};
use crate::server::Shared;

/// Antom's documented re-send schedule, in seconds between attempts: 0, 2 m, 10 m, 10 m,
/// 1 h, 2 h, 6 h, 15 h (eight attempts in all). Scaled by `notify_retry_scale`.
pub const RESEND_SCHEDULE_SECS: [u64; 8] = [0, 120, 600, 600, 3600, 7200, 21600, 54000];

/// Pause before the extra copy of a "duplicate notification" payment.
const DUPLICATE_GAP: Duration = Duration::from_millis(50);

/// Whether the receiver acknowledged: HTTP 200 and `result` = SUCCESS / `S`. Whitespace and
/// key order do not matter; `resultMessage` is not checked (the docs call the whole body a
/// fixed value, but Antom reads the result, not the text).
pub fn is_ack(status: u16, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Ack {
        result: AckResult,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AckResult {
        result_code: String,
        result_status: String,
    }
    status == 200
        && serde_json::from_slice::<Ack>(body)
            .is_ok_and(|a| a.result.result_code == "SUCCESS" && a.result.result_status == "S")
}

/// Delivers one notification job; runs on the simulator's task tracker and stops at
/// shutdown or when the ledger was reset.
pub(crate) async fn deliver(shared: Arc<Shared>, job: NotifyJob, delay: Duration) {
    let Ok(url) = reqwest::Url::parse(&job.url) else {
        tracing::warn!(payment_request_id = %job.payment_request_id, "paymentNotifyUrl is not a URL; no notification");
        return;
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    if !sleep_or_shutdown(&shared, delay).await {
        return;
    }
    let scale = shared.cfg.notify_retry_scale;
    let mut acked = false;
    for gap in RESEND_SCHEDULE_SECS {
        // Validated finite and bounded, so this cannot overflow; saturate anyway.
        #[allow(clippy::cast_precision_loss)]
        let wait = Duration::try_from_secs_f64(gap as f64 * scale).unwrap_or(Duration::MAX);
        if !sleep_or_shutdown(&shared, wait).await {
            return;
        }
        if shared.ledger.generation() != job.generation {
            return;
        }
        acked = send_once(&shared, &job, &url, &path).await;
        shared
            .ledger
            .record_notification(&job.payment_request_id, acked);
        if acked {
            break;
        }
    }
    if acked && job.duplicate && sleep_or_shutdown(&shared, DUPLICATE_GAP).await {
        let again = send_once(&shared, &job, &url, &path).await;
        shared
            .ledger
            .record_notification(&job.payment_request_id, again);
    }
}

async fn sleep_or_shutdown(shared: &Shared, d: Duration) -> bool {
    if d.is_zero() {
        return !shared.shutdown.is_cancelled();
    }
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = shared.shutdown.cancelled() => false,
    }
}

async fn send_once(shared: &Shared, job: &NotifyJob, url: &reqwest::Url, path: &str) -> bool {
    let request_time = format_time(shared.clock.now(), shared.cfg.response_utc_offset);
    let signature = match shared.cfg.antom_signer.signature_header(
        path,
        &job.client_id,
        &request_time,
        &job.body,
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "signing a notification failed");
            return false;
        }
    };
    let sent = shared
        .http
        .post(url.clone())
        .header(header::CONTENT_TYPE, asw_antom::JSON_CONTENT_TYPE)
        .header("client-id", &job.client_id)
        .header("request-time", &request_time)
        .header("signature", signature)
        .timeout(shared.cfg.notify_timeout)
        .body(job.body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            let ok = is_ack(status, &body);
            tracing::debug!(payment_request_id = %job.payment_request_id, status, acked = ok, "notification sent");
            ok
        }
        Err(e) => {
            tracing::debug!(payment_request_id = %job.payment_request_id, error = %e, "notification not delivered");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_detection() {
        assert!(is_ack(
            200,
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}"#
        ));
        assert!(is_ack(
            200,
            br#"{ "result" : { "resultStatus":"S", "resultCode":"SUCCESS" } }"#
        ));
        assert!(!is_ack(
            500,
            br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#
        ));
        assert!(!is_ack(
            200,
            br#"{"result":{"resultCode":"UNKNOWN_EXCEPTION","resultStatus":"U"}}"#
        ));
        assert!(!is_ack(200, b"OK"));
        assert!(!is_ack(200, b""));
    }
}
