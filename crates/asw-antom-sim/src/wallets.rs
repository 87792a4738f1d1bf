//! The wallets the simulator accepts for online (`CASHIER_PAYMENT`) payments: the single list
//! of `paymentMethodType` values, with what the answers and the wallet page show for each.
//!
//! The app schemes and Android packages only have to look like the real ones: no test
//! opens them, and a merchant's client treats them as opaque strings.

/// One wallet `paymentMethodType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wallet {
    /// `paymentMethod.paymentMethodType`, e.g. `GCASH`.
    pub method_type: &'static str,
    /// Name shown on the wallet page.
    pub display_name: &'static str,
    /// URI scheme of the wallet's app, used in `schemeUrl` (RFC 3986: no underscores).
    pub scheme: &'static str,
    /// Android package of the wallet's app (`appIdentifier`).
    pub app_identifier: &'static str,
}

const fn wallet(
    method_type: &'static str,
    display_name: &'static str,
    scheme: &'static str,
    app_identifier: &'static str,
) -> Wallet {
    Wallet {
        method_type,
        display_name,
        scheme,
        app_identifier,
    }
}

/// Every accepted wallet. `CARD` is not a wallet (see [`crate::card`]); any other
/// `paymentMethodType` is refused.
pub const WALLETS: &[Wallet] = &[
    wallet(
        "ALIPAY_CN",
        "Alipay",
        "alipays",
        "com.eg.android.AlipayGphone",
    ),
    wallet("ALIPAY_HK", "AlipayHK", "alipayhk", "hk.alipay.wallet"),
    wallet("GCASH", "GCash", "gcash", "com.globe.gcash.android"),
    wallet("DANA", "DANA", "dana", "id.dana"),
    wallet("KAKAOPAY", "KakaoPay", "kakaotalk", "com.kakao.talk"),
    wallet(
        "TRUEMONEY",
        "TrueMoney",
        "truemoney",
        "th.co.truemoney.wallet",
    ),
    wallet(
        "TNG",
        "Touch 'n Go eWallet",
        "tngdwallet",
        "my.com.tngdigital.ewallet",
    ),
    wallet("BOOST", "Boost", "boostapp", "my.com.myboost"),
    wallet("GRABPAY_SG", "GrabPay", "grab", "com.grabtaxi.passenger"),
    wallet("GRABPAY_MY", "GrabPay", "grab", "com.grabtaxi.passenger"),
    wallet("GRABPAY_PH", "GrabPay", "grab", "com.grabtaxi.passenger"),
    wallet(
        "RABBIT_LINE_PAY",
        "Rabbit LINE Pay",
        "line",
        "jp.naver.line.android",
    ),
    wallet(
        "NAVERPAY",
        "Naver Pay",
        "naversearchapp",
        "com.nhn.android.search",
    ),
    wallet("TOSSPAY", "Toss Pay", "supertoss", "viva.republica.toss"),
    wallet("MAYA", "Maya", "paymaya", "com.paymaya"),
    // Card-like methods (seed 004): paid with `isAuthorization`, captured afterwards.
    wallet("PAYPAL", "PayPal", "paypal", "com.paypal.android.p2pmobile"),
    wallet(
        "APPLEPAY",
        "Apple Pay",
        "shoebox",
        "com.apple.android.wallet",
    ),
    wallet(
        "GOOGLEPAY",
        "Google Pay",
        "gpay",
        "com.google.android.apps.walletnfcrel",
    ),
];

/// The wallet of a `paymentMethodType` (exact, case-sensitive, as Antom's enumeration).
pub fn find(method_type: &str) -> Option<&'static Wallet> {
    WALLETS.iter().find(|w| w.method_type == method_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_unique_and_schemes_are_valid() {
        let mut seen = std::collections::HashSet::new();
        for w in WALLETS {
            assert!(seen.insert(w.method_type), "{} twice", w.method_type);
            let mut chars = w.scheme.chars();
            assert!(chars.next().is_some_and(|c| c.is_ascii_lowercase()));
            assert!(chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
        }
        assert!(find("GCASH").is_some());
        assert!(find("gcash").is_none());
        assert!(find("CARD").is_none());
    }
}
