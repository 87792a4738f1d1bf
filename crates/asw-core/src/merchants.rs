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
#[derive(Clone, Debug, Default)]
pub struct MerchantDirectory {
    merchants: HashMap<String, Arc<MerchantProfile>>,
}

impl MerchantDirectory {
    /// Builds the directory; later entries with the same merchant id replace earlier ones
    /// (configuration validation reports duplicates before this).
    pub fn new(profiles: impl IntoIterator<Item = MerchantProfile>) -> Self {
        let merchants = profiles
            .into_iter()
            .map(|p| (p.merchant_id.trim_end().to_string(), Arc::new(p)))
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
            .iter()
            .find(|t| t.terminal_id.trim_end() == terminal_id.trim_end())
            .ok_or(MerchantError::UnknownTerminal)?;
        if !terminal.enabled {
            return Err(MerchantError::TerminalDisabled);
        }
        Ok((Arc::clone(merchant), terminal.clone()))
    }

    /// The merchant alone (reversals of unknown terminals still need the client to cancel with).
    pub fn merchant(&self, merchant_id: &str) -> Option<Arc<MerchantProfile>> {
        self.merchants.get(merchant_id.trim_end()).cloned()
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
