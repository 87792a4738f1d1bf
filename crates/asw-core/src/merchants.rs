//! The merchant directory: which F42/F41 may transact, and with which Antom merchant data.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{MerchantProfile, TerminalProfile};

/// Why a terminal may not transact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerchantError {
    /// F42 is not configured (→ 03).
    #[error("unknown merchant")]
    UnknownMerchant,
    /// F41 is not configured for that merchant (→ 58).
    #[error("unknown terminal")]
    UnknownTerminal,
    /// F41 is configured but disabled (→ 58).
    #[error("terminal disabled")]
    TerminalDisabled,
}

/// Immutable lookup table built from the configuration.
///
/// Terminals are indexed per merchant: a chain may configure thousands of them, and every
/// transaction looks one up.
#[derive(Clone, Debug, Default)]
pub struct MerchantDirectory {
    merchants: HashMap<String, MerchantEntry>,
}

#[derive(Clone, Debug)]
struct MerchantEntry {
    profile: Arc<MerchantProfile>,
    terminals: HashMap<String, TerminalProfile>,
}

impl MerchantDirectory {
    /// Builds the directory; later entries with the same merchant id replace earlier ones
    /// (configuration validation reports duplicates before this).
    pub fn new(profiles: impl IntoIterator<Item = MerchantProfile>) -> Self {
        let merchants = profiles
            .into_iter()
            .map(|mut p| {
                // The terminals move into the index (one copy; the shared profile carries only
                // merchant data). The first entry of a terminal id wins, as the linear search
                // did before the index (configuration validation reports duplicates).
                let listed = std::mem::take(&mut p.terminals);
                let mut terminals = HashMap::with_capacity(listed.len());
                for t in listed {
                    terminals
                        .entry(t.terminal_id.trim_end().to_string())
                        .or_insert(t);
                }
                let entry = MerchantEntry {
                    profile: Arc::new(p),
                    terminals,
                };
                (entry.profile.merchant_id.trim_end().to_string(), entry)
            })
            .collect();
        Self { merchants }
    }

    /// Finds the merchant and checks the terminal.
    pub fn lookup(
        &self,
        merchant_id: &str,
        terminal_id: &str,
    ) -> Result<(Arc<MerchantProfile>, TerminalProfile), MerchantError> {
        let merchant = self
            .merchants
            .get(merchant_id.trim_end())
            .ok_or(MerchantError::UnknownMerchant)?;
        let terminal = merchant
            .terminals
            .get(terminal_id.trim_end())
            .ok_or(MerchantError::UnknownTerminal)?;
        if !terminal.enabled {
            return Err(MerchantError::TerminalDisabled);
        }
        Ok((Arc::clone(&merchant.profile), terminal.clone()))
    }

    /// The merchant alone (reversals of unknown terminals still need the client to cancel with).
    pub fn merchant(&self, merchant_id: &str) -> Option<Arc<MerchantProfile>> {
        self.merchants
            .get(merchant_id.trim_end())
            .map(|m| Arc::clone(&m.profile))
    }

    /// Number of configured merchants.
    pub fn len(&self) -> usize {
        self.merchants.len()
    }

    /// True when no merchant is configured.
    pub fn is_empty(&self) -> bool {
        self.merchants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(id: &str, terminals: &[(&str, bool)]) -> MerchantProfile {
        MerchantProfile {
            merchant_id: id.into(),
            client: "default".into(),
            reference_merchant_id: format!("R{id}"),
            merchant_name: "Shop".into(),
            mcc: "5411".into(),
            store_id: "S1".into(),
            store_name: "Store".into(),
            store_mcc: None,
            settlement_currency: None,
            merchant_region: None,
            utc_offset_minutes: 0,
            follow_ups: Default::default(),
            allowed_networks: Vec::new(),
            terminals: terminals
                .iter()
                .map(|(tid, enabled)| TerminalProfile {
                    terminal_id: (*tid).into(),
                    enabled: *enabled,
                    refunds: true,
                    store_id: None,
                })
                .collect(),
        }
    }

    #[test]
    fn lookup_matches_padded_ids_and_refuses_unknown_or_disabled_terminals() {
        let many: Vec<(String, bool)> = (0..10_000).map(|i| (format!("T{i:07}"), true)).collect();
        let many: Vec<(&str, bool)> = many.iter().map(|(t, e)| (t.as_str(), *e)).collect();
        let directory = MerchantDirectory::new([
            merchant("M1", &many),
            merchant("M2", &[("OFF1", false), ("OFF1", true)]),
        ]);
        let (m, t) = directory
            .lookup("M1             ", "T0009999")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.merchant_id.as_str(), t.terminal_id.as_str()),
            ("M1", "T0009999")
        );
        assert_eq!(
            directory.lookup("M1", "T9999999").err(),
            Some(MerchantError::UnknownTerminal)
        );
        assert_eq!(
            directory.lookup("M3", "T0000001").err(),
            Some(MerchantError::UnknownMerchant)
        );
        // The first entry of a duplicated terminal id wins (validation reports the duplicate).
        assert_eq!(
            directory.lookup("M2", "OFF1    ").err(),
            Some(MerchantError::TerminalDisabled)
        );
        assert!(directory.merchant("M2").is_some());
    }
}
