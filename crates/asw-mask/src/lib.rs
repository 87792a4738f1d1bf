//! The one masking rule of antom-switch, for payment codes and other bearer values that must
//! never appear in clear in logs, `Debug` output or errors.
//!
//! A leaf crate with no dependencies, so every layer — the ISO 8583 codec, the Antom protocol
//! crate, the core — masks the same way without depending on each other.
//!
//! The rule: values of 12 characters or more keep their first four and last four characters (a
//! wallet payment code of 17–32 digits stays recognisable to an operator, with at least half of
//! it hidden); anything shorter is masked whole, since four and four would reveal most of it.

/// Length from which the first and last four characters are kept.
pub const KEEP_ENDS_FROM: usize = 12;

/// `value` with everything but its first four and last four characters replaced by `*` (all
/// of it when shorter than [`KEEP_ENDS_FROM`]). Counts characters, not bytes.
pub fn mask_middle(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < KEEP_ENDS_FROM {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    out.extend(&chars[..4]);
    out.extend(std::iter::repeat_n('*', chars.len() - 8));
    out.extend(&chars[chars.len() - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_keep_four_and_four_short_ones_nothing() {
        assert_eq!(mask_middle("281012345678901234"), "2810**********1234");
        assert_eq!(mask_middle("123456789012"), "1234****9012");
        assert_eq!(mask_middle("12345678901"), "***********");
        assert_eq!(mask_middle("12345"), "*****");
        assert_eq!(mask_middle(""), "");
        // Characters, not bytes: a multi-byte value is masked per character.
        assert_eq!(mask_middle("ééééééééééééé"), "éééé*****éééé");
    }
}
