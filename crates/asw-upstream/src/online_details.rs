//! The online payment's extras between the domain and Antom's wire: the buyer and the card
//! checks the merchant asked for go out as `order.buyer` and
//! `paymentMethod.paymentMethodMetaData`; the method, acquirer and card result Antom reports
//! come back as [`PaidWith`].

use asw_antom::buyer::{AcquirerInfo, Address, Buyer, PaymentMethodMetaData, UserName};
use asw_antom::model::PaymentDetails;
use asw_core::record::{
    AcquirerDetails, BuyerDetails, CardChecks, CardDetails, OnlineCheckout, PaidWith,
};

/// `order.buyer` of an online payment, when the merchant named its buyer.
pub fn antom_buyer(buyer: &BuyerDetails) -> Buyer {
    Buyer {
        reference_buyer_id: buyer.reference_id.clone(),
        buyer_name: buyer.name.as_ref().map(|full| UserName {
            full_name: Some(full.clone()),
            ..UserName::default()
        }),
        buyer_phone_no: buyer.phone.clone(),
        buyer_email: buyer.email.clone(),
    }
}

/// `paymentMethod.paymentMethodMetaData` of a card payment's checks.
pub fn antom_checks(checks: &CardChecks) -> PaymentMethodMetaData {
    PaymentMethodMetaData {
        is_3ds_authentication: checks.three_ds.then_some(true),
        billing_address: checks.billing_address.as_ref().map(|a| Address {
            region: Some(a.country.clone()),
            state: a.state.clone(),
            city: a.city.clone(),
            address1: a.line1.clone(),
            address2: a.line2.clone(),
            zip_code: a.postal_code.clone(),
        }),
    }
}

/// Adds the buyer and the card checks of `checkout` to an online `pay`.
pub fn add_online_details(request: &mut asw_antom::PayRequest, checkout: &OnlineCheckout) {
    request.order.buyer = checkout.buyer.as_ref().map(antom_buyer);
    request.payment_method.payment_method_meta_data =
        checkout.card_checks.as_ref().map(antom_checks);
}

/// How the buyer paid, from a notification's or an inquiry's payment details; `None` when
/// Antom said nothing of it (in-store answers).
pub fn paid_with(details: &PaymentDetails) -> Option<PaidWith> {
    let card = details.payment_result_info.as_ref().map(|info| {
        let three_ds = info.three_ds_result.as_ref();
        CardDetails {
            brand: info.card_brand.clone(),
            masked_number: info.card_no.clone(),
            last_four: info.last_four.clone(),
            funding: info.funding.clone(),
            issuing_country: info.issuing_country.clone(),
            token: info.card_token.clone(),
            network_transaction_id: info.network_transaction_id.clone(),
            authorization_code: info.authorization_code.clone(),
            avs_result: info.avs_result_raw.clone(),
            cvv_result: info.cvv_result_raw.clone(),
            three_ds_eci: three_ds.and_then(|t| t.eci.clone()),
            three_ds_version: three_ds.and_then(|t| t.three_ds_version.clone()),
        }
    });
    let found = PaidWith {
        method_type: details.payment_method_type.clone(),
        acquirer: details.acquirer_info.as_ref().map(acquirer),
        card,
    };
    (!found.is_empty()).then_some(found)
}

fn acquirer(info: &AcquirerInfo) -> AcquirerDetails {
    AcquirerDetails {
        name: info.acquirer_name.clone(),
        reference_request_id: info.reference_request_id.clone(),
        transaction_id: info.acquirer_transaction_id.clone(),
        merchant_id: info.acquirer_merchant_id.clone(),
        result_code: info.acquirer_result_code.clone(),
        result_message: info.acquirer_result_message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_core::record::BillingAddress;

    #[test]
    fn the_buyer_and_card_checks_reach_antoms_fields() {
        let checkout = OnlineCheckout {
            method_type: "CARD".into(),
            buyer: Some(BuyerDetails {
                reference_id: Some("b-1".into()),
                email: Some("ann@example.com".into()),
                ..BuyerDetails::default()
            }),
            card_checks: Some(CardChecks {
                three_ds: true,
                billing_address: Some(BillingAddress {
                    country: "SG".into(),
                    postal_code: Some("018956".into()),
                    ..BillingAddress::default()
                }),
            }),
            ..OnlineCheckout::default()
        };
        let mut request = asw_antom::PayRequest::checkout(
            "prid",
            asw_antom::Order {
                reference_order_id: Some("o".into()),
                order_description: "d".into(),
                order_amount: asw_antom::Amount {
                    currency: "SGD".into(),
                    value: "100".into(),
                },
                merchant: asw_antom::Merchant::default(),
                env: None,
                buyer: None,
                extend_info: None,
            },
            asw_antom::Amount {
                currency: "SGD".into(),
                value: "100".into(),
            },
            "CARD",
            "https://shop.example/r",
            asw_antom::Env::default(),
        );
        add_online_details(&mut request, &checkout);
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json["order"]["buyer"],
            serde_json::json!({"referenceBuyerId":"b-1","buyerEmail":"ann@example.com"})
        );
        assert_eq!(
            json["paymentMethod"]["paymentMethodMetaData"],
            serde_json::json!({"is3DSAuthentication":true,
                               "billingAddress":{"region":"SG","zipCode":"018956"}})
        );
    }

    #[test]
    fn a_card_notification_tells_the_method_the_acquirer_and_the_card_result() {
        let details: PaymentDetails = serde_json::from_str(
            r#"{"paymentMethodType":"CARD",
                "acquirerInfo":{"acquirerName":"ALIPAY","referenceRequestId":"gw-1","acquirerResultCode":"SUCCESS"},
                "paymentResultInfo":{"cardBrand":"MASTERCARD","cardNo":"************1310","funding":"CREDIT",
                  "cardToken":"ALIPAY5ITT==","avsResultRaw":"Y",
                  "threeDSResult":{"eci":"02","threeDSVersion":"2.2.0","threeDSOffered":true}}}"#,
        )
        .unwrap();
        let paid = paid_with(&details).unwrap();
        assert_eq!(paid.method_type.as_deref(), Some("CARD"));
        assert_eq!(paid.acquirer.unwrap().name.as_deref(), Some("ALIPAY"));
        let card = paid.card.unwrap();
        assert_eq!(card.brand.as_deref(), Some("MASTERCARD"));
        assert_eq!(card.token.as_deref(), Some("ALIPAY5ITT=="));
        assert_eq!(card.avs_result.as_deref(), Some("Y"));
        assert_eq!(card.three_ds_eci.as_deref(), Some("02"));
        assert!(paid_with(&PaymentDetails::default()).is_none());
    }
}
