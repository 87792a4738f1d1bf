//! The merchant directory: which merchants and terminals may transact, with which Antom
//! merchant data, and who may act on whose payments.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{FollowUpScope, MerchantProfile, Origin, TerminalProfile, WayIn};

/// Why a terminal may not transact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerchantError {
    /// The merchant is not configured.
    #[error("unknown merchant")]
    UnknownMerchant,
    /// The terminal is not configured for that merchant.
    #[error("unknown terminal")]
    UnknownTerminal,
    /// The terminal is configured but disabled.
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

    /// Finds the merchant of a request and checks the way it came in: a terminal must be
    /// configured and enabled; a REST caller was authenticated by its front (its API key names
    /// the merchant), so only the merchant must still be configured. A REST origin gets a
    /// terminal profile of its own that may refund and stands in no store.
    pub fn lookup_origin(
        &self,
        origin: &Origin,
    ) -> Result<(Arc<MerchantProfile>, TerminalProfile), MerchantError> {
        match origin.way_in {
            WayIn::Terminal => self.lookup(&origin.merchant_id, &origin.terminal_id),
            WayIn::Rest => {
                let merchant = self
                    .merchant(&origin.merchant_id)
                    .ok_or(MerchantError::UnknownMerchant)?;
                let caller = TerminalProfile {
                    terminal_id: origin.terminal_id.clone(),
                    enabled: true,
                    refunds: true,
                    store_id: None,
                };
                Ok((merchant, caller))
            }
        }
    }

    /// Whether `sender` may act on (void, refund, inquire about) a payment made by `owner`.
    /// Never across merchants, and never across ways in: a terminal never acts on a payment made
    /// over the REST API, nor an API key on a terminal's. Between terminals the merchant's
    /// [`FollowUpScope`] decides (under the store scope, a terminal no longer configured is in
    /// no store); every API key of a merchant acts on all of the merchant's REST payments, so
    /// that rotating a key loses nothing.
    pub fn may_follow_up(&self, sender: &Origin, owner: &Origin) -> bool {
        match (sender.way_in, owner.way_in) {
            (WayIn::Rest, WayIn::Rest) => {
                return sender.merchant_id.trim_end() == owner.merchant_id.trim_end()
                    && self.merchants.contains_key(sender.merchant_id.trim_end());
            }
            (WayIn::Terminal, WayIn::Terminal) => {}
            _ => return false,
        }
        self.may_follow_up_ids(
            &sender.merchant_id,
            &sender.terminal_id,
            &owner.merchant_id,
            &owner.terminal_id,
        )
    }

    fn may_follow_up_ids(
        &self,
        sender_mid: &str,
        sender_tid: &str,
        owner_mid: &str,
        owner_tid: &str,
    ) -> bool {
        let (sender_mid, owner_mid) = (sender_mid.trim_end(), owner_mid.trim_end());
        let (sender_tid, owner_tid) = (sender_tid.trim_end(), owner_tid.trim_end());
        if sender_mid != owner_mid {
            return false;
        }
        if sender_tid == owner_tid {
            return true;
        }
        let Some(merchant) = self.merchants.get(sender_mid) else {
            return false;
        };
        match merchant.profile.follow_ups {
            FollowUpScope::Terminal => false,
            FollowUpScope::Merchant => true,
            FollowUpScope::Store => {
                let store = |tid: &str| {
                    merchant.terminals.get(tid).map(|t| {
                        t.store_id
                            .as_deref()
                            .unwrap_or(merchant.profile.store_id.as_str())
                    })
                };
                matches!((store(sender_tid), store(owner_tid)), (Some(a), Some(b)) if a == b)
            }
        }
    }

    /// The merchant's profile for one of its stores (its own `store_id`, or a store one of its
    /// terminals stands in), or `None` when the merchant has no such store.
    pub fn in_store(
        &self,
        merchant: &Arc<MerchantProfile>,
        store_id: &str,
    ) -> Option<Arc<MerchantProfile>> {
        if merchant.store_id == store_id {
            return Some(Arc::clone(merchant));
        }
        let entry = self.merchants.get(merchant.merchant_id.trim_end())?;
        entry
            .terminals
            .values()
            .any(|t| t.store_id.as_deref() == Some(store_id))
            .then(|| {
                Arc::new(MerchantProfile {
                    store_id: store_id.to_string(),
                    ..(**merchant).clone()
                })
            })
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
            api_keys: Vec::new(),
            rest_timeout_ms: None,
            webhook: None,
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

    #[test]
    fn a_merchant_pays_in_its_own_stores_only() {
        let mut m = merchant("M1", &[("T1", true), ("T2", true)]);
        m.terminals[1].store_id = Some("S2".into());
        let directory = MerchantDirectory::new([m, merchant("M2", &[])]);
        let m1 = directory.merchant("M1").unwrap_or_else(|| unreachable!());
        let main = m1.store_id.clone();
        assert_eq!(
            directory.in_store(&m1, &main).map(|p| p.store_id.clone()),
            Some(main)
        );
        assert_eq!(
            directory.in_store(&m1, "S2").map(|p| p.store_id.clone()),
            Some("S2".to_string())
        );
        assert!(directory.in_store(&m1, "S9").is_none());
    }

    #[test]
    fn rest_callers_act_on_their_merchants_rest_payments_only() {
        let mut m = merchant("M1", &[("K1", true)]);
        m.follow_ups = FollowUpScope::Merchant;
        let directory = MerchantDirectory::new([m, merchant("M2", &[])]);
        let rest = |mid: &str, key: &str| Origin::rest(mid, key);
        assert!(directory.lookup_origin(&rest("M1", "any-key")).is_ok());
        assert_eq!(
            directory.lookup_origin(&rest("M9", "k")).err(),
            Some(MerchantError::UnknownMerchant)
        );
        // Any key of the merchant (rotation), never another merchant's.
        assert!(directory.may_follow_up(&rest("M1", "k2"), &rest("M1", "k1")));
        assert!(!directory.may_follow_up(&rest("M2", "k1"), &rest("M1", "k1")));
        // Never across ways in, even when a terminal id equals an API key id.
        assert!(!directory.may_follow_up(&Origin::terminal("M1", "K1"), &rest("M1", "K1")));
        assert!(!directory.may_follow_up(&rest("M1", "K1"), &Origin::terminal("M1", "K1")));
    }

    #[test]
    fn follow_up_authority_follows_the_merchant_scope_and_never_crosses_merchants() {
        let with_scope = |scope: FollowUpScope| {
            let mut m = merchant("M1", &[("T1", true), ("T2", true), ("T3", true)]);
            m.terminals[2].store_id = Some("S2".into());
            m.follow_ups = scope;
            MerchantDirectory::new([m, merchant("M2", &[("T1", true)])])
        };
        let cases = [
            // sender, owner, terminal, store, merchant
            (("M1", "T1"), ("M1", "T1"), true, true, true),
            (("M1", "T2 "), ("M1", "T1"), false, true, true),
            (("M1", "T3"), ("M1", "T1"), false, false, true),
            (("M1", "T1"), ("M1", "T9"), false, false, true),
            (("M2", "T1"), ("M1", "T1"), false, false, false),
            (("M1 ", "T1"), ("M2", "T1"), false, false, false),
        ];
        for (sender, owner, terminal, store, whole) in cases {
            for (scope, expected) in [
                (FollowUpScope::Terminal, terminal),
                (FollowUpScope::Store, store),
                (FollowUpScope::Merchant, whole),
            ] {
                assert_eq!(
                    with_scope(scope).may_follow_up(
                        &Origin::terminal(sender.0, sender.1),
                        &Origin::terminal(owner.0, owner.1)
                    ),
                    expected,
                    "{sender:?} on {owner:?} with {scope:?}"
                );
            }
        }
    }
}
