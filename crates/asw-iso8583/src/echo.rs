//! The fields an answer echoes from its request, in one place: the terminal matches an answer to
//! its request by them (MTI class, F41, F11) and prints some of them on the receipt.

/// Every answer to a financial message (0110, 0210, 0410, 0430): the request's processing code,
/// amount, times, STAN, NII, POS condition, terminal, merchant, currency, batch and invoice.
pub const RESPONSE: [u8; 13] = [3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49, 60, 62];

/// Answers built by the listener itself (0810 network management, 39=12 unsupported, 39=30
/// format error): the same fields, with the network-management code (F70) instead of the
/// invoice.
pub const LOCAL: [u8; 13] = [3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49, 60, 70];

/// An answer to a message that did not decode: only the fixed-length fields, which can be read
/// on their own (the variable-length batch and invoice fields cannot be trusted then).
pub const ON_FORMAT_ERROR: [u8; 11] = [3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_share_the_matching_keys() {
        for list in [&RESPONSE[..], &LOCAL[..], &ON_FORMAT_ERROR[..]] {
            // MTI class is the answer's own; F11 and F41 are what a terminal matches on.
            assert!(list.contains(&11) && list.contains(&41));
        }
        assert!(ON_FORMAT_ERROR.iter().all(|f| RESPONSE.contains(f)));
    }
}
