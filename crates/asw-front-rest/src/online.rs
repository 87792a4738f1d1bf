//! The online methods of `POST /v1/payments`: checking what the buyer's side needs (the
//! wallet, where the buyer is, the return URL, the expiry) before it reaches the core.

use asw_core::record::{CaptureMode, OnlineCheckout};

use crate::problem::Problem;

/// The longest return URL Antom takes (`paymentRedirectUrl`).
const MAX_RETURN_URL: usize = 2048;
/// The expiry bounds a merchant may ask for: Antom's default (14 minutes) is the longest.
pub(crate) const EXPIRES_IN_S: std::ops::RangeInclusive<u64> = 60..=840;

/// A wallet method, checked: the checkout data of the record (no next action yet).
pub(crate) fn wallet_checkout(
    wallet: &str,
    terminal_type: &str,
    os_type: Option<&str>,
    return_url: Option<&str>,
    allow_http_loopback: bool,
) -> Result<OnlineCheckout, Problem> {
    let wallet = wallet.trim();
    if !(2..=64).contains(&wallet.len())
        || !wallet
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Problem::invalid(
            "invalid_wallet",
            "method.wallet must be an Antom payment method type such as GCASH (2 to 64 of A-Z, 0-9, _)",
        ));
    }
    if !matches!(terminal_type, "WEB" | "WAP" | "APP") {
        return Err(Problem::invalid(
            "invalid_terminal_type",
            "method.terminal_type must be WEB, WAP or APP",
        ));
    }
    if let Some(os) = os_type
        && !matches!(os, "IOS" | "ANDROID")
    {
        return Err(Problem::invalid(
            "invalid_os_type",
            "method.os_type must be IOS or ANDROID",
        ));
    }
    let return_url = return_url.ok_or_else(|| {
        Problem::invalid(
            "missing_return_url",
            "return_url is required for online methods: the buyer's browser comes back there",
        )
    })?;
    check_return_url(return_url, allow_http_loopback)?;
    Ok(OnlineCheckout {
        method_type: wallet.to_string(),
        terminal_type: terminal_type.to_string(),
        os_type: os_type.map(str::to_string),
        return_url: return_url.to_string(),
        next_action: None,
        capture: None,
        buyer: None,
        card_checks: None,
        paid_with: None,
        cancel_before_retry: false,
        session: None,
    })
}

/// A card on Antom's hosted page, checked: authorization first, captured as asked.
pub(crate) fn card_checkout(
    terminal_type: &str,
    capture: CaptureMode,
    return_url: Option<&str>,
    allow_http_loopback: bool,
) -> Result<OnlineCheckout, Problem> {
    let mut checkout =
        wallet_checkout("CARD", terminal_type, None, return_url, allow_http_loopback)?;
    checkout.capture = Some(capture);
    Ok(checkout)
}

/// `https://` with a host; `http://` only on a loopback host and only when the acquirer
/// allowed it (seed 002 asks for HTTPS while its own sample uses plain http on localhost).
pub(crate) fn check_return_url(raw: &str, allow_http_loopback: bool) -> Result<(), Problem> {
    let invalid = |why: &str| Problem::invalid("invalid_return_url", why.to_string());
    if raw.len() > MAX_RETURN_URL || raw.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            "return_url must be an absolute URL of at most 2048 characters without spaces",
        ));
    }
    let url = url::Url::parse(raw).map_err(|_| invalid("return_url is not an absolute URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("return_url has no host")),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback && loopback => Ok(()),
        "http" => Err(invalid("return_url must be https://")),
        _ => Err(invalid("return_url must be an https:// URL")),
    }
}

/// The buyer's time to pay, in ms, when the merchant gave one.
pub(crate) fn expires_in_ms(expires_in_s: Option<u64>) -> Result<Option<i64>, Problem> {
    match expires_in_s {
        None => Ok(None),
        Some(s) if EXPIRES_IN_S.contains(&s) => {
            Ok(Some(i64::try_from(s * 1000).unwrap_or(840_000)))
        }
        Some(_) => Err(Problem::invalid(
            "invalid_expires_in",
            format!(
                "expires_in_s must be between {} and {} seconds",
                EXPIRES_IN_S.start(),
                EXPIRES_IN_S.end()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls_are_https_unless_loopback_http_is_allowed() {
        assert!(check_return_url("https://shop.example/r?o=1", false).is_ok());
        assert!(check_return_url("http://shop.example/r", false).is_err());
        assert!(check_return_url("http://shop.example/r", true).is_err());
        assert!(check_return_url("http://127.0.0.1:8080/r", false).is_err());
        assert!(check_return_url("http://127.0.0.1:8080/r", true).is_ok());
        assert!(check_return_url("http://localhost/r", true).is_ok());
        assert!(check_return_url("javascript:alert(1)", true).is_err());
        assert!(check_return_url("/relative", true).is_err());
        assert!(
            check_return_url(&format!("https://x.example/{}", "a".repeat(2100)), false).is_err()
        );
    }

    #[test]
    fn a_wallet_needs_a_known_terminal_type_and_a_return_url() {
        let ok = wallet_checkout("GCASH", "WEB", None, Some("https://s.example/r"), false);
        assert_eq!(ok.map(|c| c.method_type), Ok("GCASH".to_string()));
        assert!(wallet_checkout("gcash", "WEB", None, Some("https://s.example/r"), false).is_err());
        assert!(wallet_checkout("GCASH", "TV", None, Some("https://s.example/r"), false).is_err());
        assert!(
            wallet_checkout(
                "GCASH",
                "WAP",
                Some("WIN"),
                Some("https://s.example/r"),
                false
            )
            .is_err()
        );
        assert!(wallet_checkout("GCASH", "WEB", None, None, false).is_err());
    }

    #[test]
    fn the_expiry_stays_within_antoms_default() {
        assert_eq!(expires_in_ms(None), Ok(None));
        assert_eq!(expires_in_ms(Some(600)), Ok(Some(600_000)));
        assert!(expires_in_ms(Some(59)).is_err());
        assert!(expires_in_ms(Some(841)).is_err());
    }
}
