//! The buyer's side of an online payment, inside the ledger: what the wallet (or card) page
//! shows, what the buyer's approve / decline / leave does (for a card: the typed card checked,
//! then authorized or refused), and closing an unpaid payment at its expiry.
//! Same rules as the rest of the ledger: pure, each decision taken while holding the entry.

use time::OffsetDateTime;

use super::{Effect, Ledger, PayState};
use crate::card::{self, CardForm};
use crate::config::SimConfig;
use crate::online::{DECLINE_CODE, EXPIRED_CODE};
use crate::scenario::Scenario;

/// What the buyer does on the wallet page (or through the test hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuyerAction {
    /// Pays: PROCESSING → SUCCESS (a card: authorized, or FAIL when the card is refused).
    Approve,
    /// Refuses: PROCESSING → FAIL (`USER_BALANCE_NOT_ENOUGH`; a card: `DO_NOT_HONOR`).
    Decline,
    /// Goes back without doing anything: the payment stays open until it expires.
    Leave,
}

impl BuyerAction {
    /// From the last path segment (`approve`, `decline`, `leave`).
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "approve" => Some(Self::Approve),
            "decline" => Some(Self::Decline),
            "leave" => Some(Self::Leave),
            _ => None,
        }
    }

    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Decline => "decline",
            Self::Leave => "leave",
        }
    }
}

/// The result of a buyer action.
#[derive(Debug, Clone)]
pub(crate) struct BuyerOutcome {
    pub payment_id: String,
    pub payment_request_id: String,
    /// `paymentRedirectUrl` exactly as the merchant gave it.
    pub redirect_url: String,
    /// The payment's status after the action (`SUCCESS`, `FAIL`, `PROCESSING`, `CANCELLED`).
    pub status: &'static str,
    /// For FAIL: the reason.
    pub result_code: Option<String>,
    /// Whether the action changed the payment (false on a final, cancelled or expired one).
    pub changed: bool,
}

/// What the wallet page shows.
#[derive(Debug, Clone)]
pub(crate) struct WalletPage {
    pub payment_id: String,
    pub merchant_name: String,
    pub reference_order_id: String,
    pub order_description: String,
    /// ISO 4217 alpha-3.
    pub currency: String,
    /// Minor units.
    pub value: String,
    pub wallet_name: &'static str,
    /// The payment's status now.
    pub status: &'static str,
    /// When the unpaid payment closes, formatted like Antom's times.
    pub expires_at: String,
    /// A card payment (its page is the card form, not the wallet's buttons).
    pub is_card: bool,
}

/// What the expiry watcher should do next.
#[derive(Debug)]
pub(crate) enum ExpiryCheck {
    /// Still open: look again at this time.
    WaitUntil(OffsetDateTime),
    /// Nothing left to watch (paid, declined, cancelled, gone); carry out these effects.
    Done(Vec<Effect>),
}

fn status_of(state: &PayState) -> (&'static str, Option<String>) {
    match state {
        PayState::Processing => ("PROCESSING", None),
        PayState::Success => ("SUCCESS", None),
        PayState::Failed { code } => ("FAIL", Some(code.clone())),
        PayState::Closed => ("FAIL", Some(EXPIRED_CODE.to_owned())),
        PayState::Cancelled { .. } => ("CANCELLED", None),
    }
}

impl Ledger {
    fn online_prid(&self, id: &str) -> Option<String> {
        if self.payments.contains_key(id) {
            Some(id.to_owned())
        } else {
            self.by_payment_id.get(id).map(|e| e.value().clone())
        }
    }

    /// The wallet page of an online payment (`paymentId` or `paymentRequestId`); `None` for an
    /// unknown id or an in-store payment.
    pub fn wallet_page(
        &self,
        id: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<WalletPage> {
        let prid = self.online_prid(id)?;
        let mut p = self.payments.get_mut(&prid)?;
        p.refresh(now);
        let online = p.online.as_ref()?;
        Some(WalletPage {
            payment_id: p.payment_id.clone(),
            merchant_name: online.merchant_name.clone(),
            reference_order_id: online.reference_order_id.clone(),
            order_description: online.order_description.clone(),
            currency: p.key.amount.currency.clone(),
            value: p.key.amount.value.clone(),
            wallet_name: online.wallet.display_name,
            status: status_of(&p.state).0,
            expires_at: super::format_time(p.expires_at, cfg.response_utc_offset),
            // Which page: a card form for CARD; card-like wallets keep their wallet page.
            is_card: online.wallet.method_type == crate::card::CARD_METHOD_TYPE,
        })
    }

    /// Applies the buyer's action to an open online payment or in-store order code. A payment
    /// that is already final, cancelled or expired is left as it is (the buyer is still sent
    /// back). `None` for an unknown id or a customer-presented in-store payment. `card` is what the buyer typed on a card payment's
    /// page (`None`: the approving test card); wallets ignore it.
    pub fn buyer_act(
        &self,
        id: &str,
        action: BuyerAction,
        card: Option<&CardForm>,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<(BuyerOutcome, Vec<Effect>)> {
        let prid = self.online_prid(id)?;
        let mut entry = self.payments.get_mut(&prid)?;
        let p = &mut *entry;
        // Online payments, and in-store order codes: the buyer scans the code and pays it in
        // the wallet. A customer-presented code is paid at the till, not here.
        if p.online.is_none() && p.scenario != Scenario::OrderCode {
            return None;
        }
        let is_card = p.online.as_ref().is_some_and(|o| o.card.is_some());
        p.refresh(now);
        let mut effects = Vec::new();
        let open = p.state == PayState::Processing;
        let changed = open && action != BuyerAction::Leave;
        match action {
            BuyerAction::Approve if open && is_card => {
                let typed = card.cloned().unwrap_or_else(CardForm::test_card);
                match card::check(&typed, now.date()) {
                    Ok(on_file) => effects.extend(self.authorize_card(p, on_file, None, now, cfg)),
                    Err(code) => {
                        effects.extend(self.notify_fail_effect(p, code, cfg));
                        p.state = PayState::Failed {
                            code: code.to_owned(),
                        };
                        p.updated_at = now;
                    }
                }
            }
            BuyerAction::Decline if open && is_card => {
                effects.extend(self.notify_fail_effect(p, card::DECLINE_CODE, cfg));
                p.state = PayState::Failed {
                    code: card::DECLINE_CODE.to_owned(),
                };
                p.updated_at = now;
            }
            BuyerAction::Approve if open => {
                p.state = PayState::Success;
                p.paid_at = Some(now);
                p.updated_at = now;
                effects.extend(self.notify_effect(p, cfg));
            }
            BuyerAction::Decline if open => {
                effects.extend(self.notify_fail_effect(p, DECLINE_CODE, cfg));
                p.state = PayState::Failed {
                    code: DECLINE_CODE.to_owned(),
                };
                p.updated_at = now;
            }
            _ => {}
        }
        let (status, result_code) = status_of(&p.state);
        let outcome = BuyerOutcome {
            payment_id: p.payment_id.clone(),
            payment_request_id: p.payment_request_id.clone(),
            redirect_url: p
                .online
                .as_ref()
                .map(|o| o.redirect_url.clone())
                .unwrap_or_default(),
            status,
            result_code,
            changed,
        };
        Some((outcome, effects))
    }

    /// Closes an online payment whose expiry has passed and produces its failure notification,
    /// once, whether the close happened here or lazily on an earlier call.
    pub fn check_expiry(
        &self,
        payment_request_id: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> ExpiryCheck {
        let Some(mut p) = self.payments.get_mut(payment_request_id) else {
            return ExpiryCheck::Done(Vec::new());
        };
        p.refresh(now);
        match p.state {
            PayState::Processing => ExpiryCheck::WaitUntil(p.expires_at),
            PayState::Closed => {
                let first = p.online.as_mut().is_some_and(|o| {
                    let first = !o.closed_notified;
                    o.closed_notified = true;
                    first
                });
                let effects = if first {
                    self.notify_fail_effect(&p, EXPIRED_CODE, cfg)
                        .into_iter()
                        .collect()
                } else {
                    Vec::new()
                };
                ExpiryCheck::Done(effects)
            }
            _ => ExpiryCheck::Done(Vec::new()),
        }
    }
}
