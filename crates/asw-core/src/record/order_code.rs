//! What a merchant-presented order code (Antom's in-store `OrderCode` scenario) keeps beyond a
//! customer-presented purchase: the code the terminal displays and until when it can be paid.

use serde::{Deserialize, Serialize};

/// An order code purchase: the terminal shows a dynamic QR, the buyer scans and pays it in the
/// wallet. Present from the moment the purchase is journaled (so every later reader knows it
/// for one); the code itself once Antom created it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCode {
    /// The code to display (`orderCodeForm.codeDetails[].codeValue`), once Antom created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_value: Option<String>,
    /// Until when the buyer may pay, ms since the Unix epoch: the `paymentExpiryTime` the
    /// switch asked for, or Antom's `expireTime` when that is earlier. Shown to the buyer; the
    /// switch never closes the payment before it.
    pub expires_at_ms: i64,
    /// `orderCodeForm.expireTime` exactly as Antom sent it (for operators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antom_expire_time: Option<String>,
    /// The store's UTC offset in minutes, so a front can show the expiry in local time.
    #[serde(default)]
    pub utc_offset_minutes: i16,
}

impl OrderCode {
    /// True once the code can be displayed.
    pub fn is_displayable(&self) -> bool {
        self.code_value.as_deref().is_some_and(|c| !c.is_empty())
    }
}
