//! The core's [`Upstream`] port, implemented with [`AntomClient`]: domain commands in, Antom
//! bodies out, classified answers back in domain terms.

use asw_antom::model::SettlementStrategy;
use asw_antom::session::{
    AvailablePaymentMethod, CreatePaymentSessionRequest, PaymentMethodTypeItem, SessionOrder,
};
use asw_antom::{
    Amount, CancelRequest, CaptureRequest, Env, InquiryPaymentRequest, Merchant, Order, Outcome,
    PayRequest, PayResponse, PaymentCode, RefundRequest, Store,
};
use asw_core::ports::{
    CancelCommand, CancelReceipt, CaptureCommand, CaptureReceipt, CheckoutCommand, CheckoutStarted,
    InquiryCommand, PayCommand, PayReceipt, PayScenario, PaymentReport, PaymentStatus,
    RefundCommand, RefundReceipt, SessionCommand, SessionCreated, Upstream, UpstreamOutcome,
};
use asw_core::record::NextAction;
use async_trait::async_trait;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::client::{AntomClient, local_codes};
use crate::metrics::reason_label;

/// Antom's datetime: ISO 8601, seconds precision, numeric offset (`2023-11-14T22:13:20+08:00`).
pub fn antom_datetime(t: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    // Formatting a valid OffsetDateTime with this description cannot fail for years 0..=9999;
    // fall back to RFC 3339 rather than panic.
    t.format(&format).unwrap_or_else(|_| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
}

/// Translates a domain `pay` into Antom's body. `None` when a payment-code pay has no code.
pub fn pay_request(command: &PayCommand) -> Option<PayRequest> {
    let m = &command.merchant;
    let amount = Amount {
        currency: command.amount.currency_code().to_owned(),
        value: command.amount.value_string(),
    };
    let order = Order {
        buyer: None,
        reference_order_id: command.reference_order_id.clone(),
        order_description: command.order_description.clone(),
        order_amount: amount.clone(),
        merchant: Merchant {
            reference_merchant_id: m.reference_merchant_id.clone(),
            merchant_mcc: m.mcc.clone(),
            merchant_name: m.merchant_name.clone(),
            store: Some(Store {
                reference_store_id: m.store_id.clone(),
                store_name: m.store_name.clone(),
                store_mcc: m.store_mcc.clone().unwrap_or_else(|| m.mcc.clone()),
                ..Store::default()
            }),
            ..Merchant::default()
        },
        env: Some(Env {
            store_terminal_id: Some(command.terminal_id.clone()),
            store_terminal_request_time: Some(antom_datetime(command.terminal_request_time)),
            ..Env::default()
        }),
        extend_info: None,
    };
    let id = command.payment_request_id.as_str();
    let mut request = match command.scenario {
        PayScenario::PaymentCode => {
            let code = command.payment_code.as_ref()?;
            PayRequest::payment_code(id, order, amount, PaymentCode::new(code.expose()))
        }
        PayScenario::OrderCode => PayRequest::order_code(id, order, amount),
    };
    request.payment_notify_url = command.notify_url.clone();
    request.payment_expiry_time = command.payment_expiry.map(antom_datetime);
    request.settlement_strategy = m.settlement_currency.as_ref().map(|c| SettlementStrategy {
        settlement_currency: Some(c.clone()),
    });
    request.merchant_region = m.merchant_region.clone();
    Some(request)
}

/// Translates an online Checkout Payment into Antom's body (`CASHIER_PAYMENT`): the env is
/// the buyer's (top level), the order carries the merchant's order id, no store terminal.
pub fn checkout_request(command: &CheckoutCommand) -> PayRequest {
    let m = &command.merchant;
    let amount = Amount {
        currency: command.amount.currency_code().to_owned(),
        value: command.amount.value_string(),
    };
    let order = Order {
        buyer: None,
        reference_order_id: Some(command.reference_order_id.clone()),
        order_description: command.order_description.clone(),
        order_amount: amount.clone(),
        merchant: Merchant {
            reference_merchant_id: m.reference_merchant_id.clone(),
            merchant_mcc: m.mcc.clone(),
            merchant_name: m.merchant_name.clone(),
            ..Merchant::default()
        },
        env: None,
        extend_info: None,
    };
    let checkout = &command.checkout;
    let env = Env {
        terminal_type: Some(checkout.terminal_type.clone()),
        os_type: checkout.os_type.clone(),
        ..Env::default()
    };
    let mut request = PayRequest::checkout(
        command.payment_request_id.as_str(),
        order,
        amount,
        checkout.method_type.clone(),
        checkout.return_url.clone(),
        env,
    );
    if checkout.capture.is_some() {
        // An authorization, captured by the switch itself with its own captureRequestId
        // (automatic or on the merchant's request): see docs/online.md.
        request.payment_factor.is_authorization = Some(true);
        request.payment_factor.capture_mode = Some("MANUAL".to_owned());
    }
    crate::online_details::add_online_details(&mut request, checkout);
    request.payment_notify_url = command.notify_url.clone();
    request.payment_expiry_time = Some(antom_datetime(command.payment_expiry));
    request.settlement_strategy = m.settlement_currency.as_ref().map(|c| SettlementStrategy {
        settlement_currency: Some(c.clone()),
    });
    request.merchant_region = m.merchant_region.clone();
    request
}

/// Translates a Checkout Page session into Antom's `createPaymentSession` body. Cards picked
/// on the page are asked as authorizations with `captureMode: MANUAL`, so the switch captures
/// them itself with its own `captureRequestId`, as for hosted cards (docs/online.md).
pub fn session_request(command: &SessionCommand) -> CreatePaymentSessionRequest {
    let m = &command.merchant;
    let amount = Amount {
        currency: command.amount.currency_code().to_owned(),
        value: command.amount.value_string(),
    };
    let order = SessionOrder {
        reference_order_id: command.reference_order_id.clone(),
        order_description: command.order_description.clone(),
        order_amount: amount.clone(),
        buyer: command
            .buyer
            .as_ref()
            .map(crate::online_details::antom_buyer),
    };
    let mut request = CreatePaymentSessionRequest::checkout_page(
        command.payment_request_id.as_str(),
        amount,
        command.return_url.clone(),
        order,
    );
    request.payment_factor.is_authorization = Some(true);
    request.payment_factor.capture_mode = Some("MANUAL".to_owned());
    request.payment_notify_url = command.notify_url.clone();
    request.payment_session_expiry_time = Some(antom_datetime(command.session_expiry));
    if !command.methods.is_empty() {
        request.available_payment_method = Some(AvailablePaymentMethod {
            payment_method_type_list: command
                .methods
                .iter()
                .zip(1..)
                .map(|(method, order)| PaymentMethodTypeItem {
                    payment_method_type: method.clone(),
                    payment_method_order: Some(order),
                })
                .collect(),
        });
    }
    request.settlement_strategy = m.settlement_currency.as_ref().map(|c| SettlementStrategy {
        settlement_currency: Some(c.clone()),
    });
    request.merchant_region = m.merchant_region.clone();
    request
}

/// The buyer's way on, from a `pay` answer: passed to the merchant unchanged.
fn next_action(response: PayResponse) -> NextAction {
    let form = response.order_code_form;
    NextAction {
        url: response.normal_url,
        applink_url: response.applink_url,
        scheme_url: response.scheme_url,
        app_identifier: response.app_identifier,
        code_value: form
            .as_ref()
            .and_then(|f| f.code_details.iter().find_map(|d| d.code_value.clone())),
        code_expires_at: form.and_then(|f| f.expire_time),
    }
}

/// Whether an inquiry's transactions show a capture succeeded (`Some(true)`), only failed ones
/// (`Some(false)`), or none final (`None`).
fn capture_state(transactions: &[asw_antom::model::Transaction]) -> Option<bool> {
    let captures = transactions
        .iter()
        .filter(|t| t.transaction_type.as_deref() == Some("CAPTURE"));
    let mut failed = false;
    for capture in captures {
        match capture.transaction_status.as_deref() {
            Some("SUCCESS") => return Some(true),
            Some("FAIL") => failed = true,
            _ => {}
        }
    }
    failed.then_some(false)
}

fn to_port<T, U>(
    outcome: Outcome<T>,
    f: impl FnOnce(T) -> UpstreamOutcome<U>,
) -> UpstreamOutcome<U> {
    match outcome {
        Outcome::Success(t) => f(t),
        Outcome::Failed {
            result_code,
            message,
        } => UpstreamOutcome::Failed {
            result_code,
            message,
        },
        // Awaiting the buyer is "not final yet" to every caller but `checkout`.
        Outcome::InProcess(_) => UpstreamOutcome::Unknown {
            reason: "U:PAYMENT_IN_PROCESS".to_owned(),
        },
        Outcome::Unknown(reason) => UpstreamOutcome::Unknown {
            reason: reason_label(&reason),
        },
    }
}

#[async_trait]
impl Upstream for AntomClient {
    async fn pay(&self, command: &PayCommand) -> UpstreamOutcome<PayReceipt> {
        let Some(request) = pay_request(command) else {
            return UpstreamOutcome::Failed {
                result_code: local_codes::MISSING_PAYMENT_CODE.to_owned(),
                message: "payment-code pay without a payment code; nothing was sent".to_owned(),
            };
        };
        let receipt = |r: PayResponse| {
            let form = r.order_code_form;
            UpstreamOutcome::Success(PayReceipt {
                payment_id: r.payment.payment_id,
                payment_time: r.payment.payment_time,
                wallet: r.payment.psp_customer_info.and_then(|p| p.psp_name),
                order_code_expires_at: form.as_ref().and_then(|f| f.expire_time.clone()),
                order_code: form.and_then(|f| {
                    f.code_details
                        .into_iter()
                        .find_map(|d| d.code_value.filter(|v| !v.trim().is_empty()))
                }),
            })
        };
        match (command.scenario, self.call(&command.client, &request).await) {
            // An Order Code pay that created the code may say so with `U PAYMENT_IN_PROCESS`
            // and the form (as online payments do) as well as with `S`: either way the code
            // exists and awaits the buyer. The core never reads this as paid.
            (PayScenario::OrderCode, Outcome::InProcess(r)) => receipt(r),
            (_, outcome) => to_port(outcome, receipt),
        }
    }

    async fn checkout(&self, command: &CheckoutCommand) -> UpstreamOutcome<CheckoutStarted> {
        let request = checkout_request(command);
        match self.call(&command.client, &request).await {
            Outcome::InProcess(r) => UpstreamOutcome::Success(CheckoutStarted::AwaitingBuyer {
                payment_id: r.payment.payment_id.clone(),
                next: next_action(r),
            }),
            other => to_port(other, |r| {
                UpstreamOutcome::Success(CheckoutStarted::Paid(PayReceipt {
                    payment_id: r.payment.payment_id,
                    payment_time: r.payment.payment_time,
                    wallet: r.payment.psp_customer_info.and_then(|p| p.psp_name),
                    order_code: None,
                    order_code_expires_at: None,
                }))
            }),
        }
    }

    async fn inquire_payment(&self, command: &InquiryCommand) -> UpstreamOutcome<PaymentReport> {
        let request =
            InquiryPaymentRequest::by_payment_request_id(command.payment_request_id.as_str());
        to_port(self.call(&command.client, &request).await, |r| {
            let status = match r.payment_status {
                Some(asw_antom::PaymentStatus::Success) => PaymentStatus::Success,
                Some(asw_antom::PaymentStatus::Fail) => PaymentStatus::Fail,
                Some(asw_antom::PaymentStatus::Cancelled) => PaymentStatus::Cancelled,
                // PENDING is an online state; in-store it can only mean "not final yet".
                Some(asw_antom::PaymentStatus::Processing | asw_antom::PaymentStatus::Pending) => {
                    PaymentStatus::Processing
                }
                // The protocol crate already turns these into Unknown; stay safe regardless.
                Some(asw_antom::PaymentStatus::Other(_)) | None => {
                    return UpstreamOutcome::Unknown {
                        reason: "incomplete_success:paymentStatus".to_owned(),
                    };
                }
            };
            let paid_with = crate::online_details::paid_with(&r.payment);
            UpstreamOutcome::Success(PaymentReport {
                status,
                payment_id: r.payment.payment_id,
                result_code: r.payment_result_code,
                amount: r
                    .payment
                    .payment_amount
                    .and_then(|a| a.minor_units().map(|v| (v, a.currency))),
                wallet: r.payment.psp_customer_info.and_then(|p| p.psp_name),
                captured: capture_state(r.transactions.as_deref().unwrap_or_default()),
                paid_with,
            })
        })
    }

    async fn capture(&self, command: &CaptureCommand) -> UpstreamOutcome<CaptureReceipt> {
        let amount = Amount {
            currency: command.amount.currency_code().to_owned(),
            value: command.amount.value_string(),
        };
        let request = CaptureRequest::new(
            command.capture_request_id.as_str(),
            command.payment_id.as_str(),
            amount,
        );
        to_port(self.call(&command.client, &request).await, |r| {
            UpstreamOutcome::Success(CaptureReceipt {
                capture_id: r.capture_id,
            })
        })
    }

    async fn cancel(&self, command: &CancelCommand) -> UpstreamOutcome<CancelReceipt> {
        let request = CancelRequest::by_payment_request_id(command.payment_request_id.as_str());
        to_port(self.call(&command.client, &request).await, |r| {
            UpstreamOutcome::Success(CancelReceipt {
                cancel_time: r.cancel_time,
            })
        })
    }

    async fn create_session(&self, command: &SessionCommand) -> UpstreamOutcome<SessionCreated> {
        let request = session_request(command);
        to_port(self.call(&command.client, &request).await, |r| {
            UpstreamOutcome::Success(SessionCreated {
                // Present: a success without it is classified Unknown by the protocol crate.
                session_data: r.payment_session_data.unwrap_or_default(),
                url: r.normal_url,
                session_id: r.payment_session_id,
            })
        })
    }

    async fn refund(&self, command: &RefundCommand) -> UpstreamOutcome<RefundReceipt> {
        let mut request = RefundRequest::new(
            command.refund_request_id.as_str(),
            command.payment_id.clone(),
            Amount::minor(command.currency.clone(), command.amount_minor),
        );
        request.refund_reason = command.reason.clone();
        to_port(self.call(&command.client, &request).await, |r| {
            UpstreamOutcome::Success(RefundReceipt {
                refund_id: r.refund_id,
                refund_time: r.refund_time,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn antom_datetime_has_seconds_and_a_numeric_offset() {
        assert_eq!(
            antom_datetime(datetime!(2023-11-14 22:13:20.987 +08:00)),
            "2023-11-14T22:13:20+08:00"
        );
        assert_eq!(
            antom_datetime(datetime!(2023-11-14 06:13:21 UTC)),
            "2023-11-14T06:13:21+00:00"
        );
        assert_eq!(
            antom_datetime(datetime!(2023-11-14 06:13:21 -08:00)),
            "2023-11-14T06:13:21-08:00"
        );
    }

    #[test]
    fn unknown_reasons_become_short_labels() {
        use asw_antom::UnknownReason;
        use asw_antom::signature::SignatureError;
        let label = |r| match to_port::<(), ()>(Outcome::Unknown(r), |_| unreachable!()) {
            UpstreamOutcome::Unknown { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            label(UnknownReason::ResultUnknown {
                result_code: "PAYMENT_IN_PROCESS".into(),
                message: String::new()
            }),
            "U:PAYMENT_IN_PROCESS"
        );
        assert_eq!(label(UnknownReason::HttpStatus(503)), "http_503");
        assert_eq!(label(UnknownReason::Timeout(10_000)), "timeout");
        assert_eq!(
            label(UnknownReason::BadSignature(SignatureError::Mismatch)),
            "bad_signature"
        );
        assert_eq!(
            label(UnknownReason::Unsigned {
                error: SignatureError::Missing,
                claimed_status: None,
                claimed_code: Some("X".repeat(500)),
            })
            .len(),
            "unsigned:".len() + 64
        );
        assert_eq!(
            to_port::<(), ()>(
                Outcome::Failed {
                    result_code: "ORDER_NOT_EXIST".into(),
                    message: "m".into()
                },
                |_| unreachable!()
            ),
            UpstreamOutcome::Failed {
                result_code: "ORDER_NOT_EXIST".into(),
                message: "m".into()
            }
        );
    }
}
