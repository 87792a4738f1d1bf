//! Routes a decoded terminal message to its flow and builds the response message from the
//! flow's [`Answer`].
//!
//! Network management (0800) is answered by the downstream adapter; everything else arrives
//! here. Validation failures answer 39 = 30 on the response MTI; unsupported messages 39 = 12.

use std::sync::Arc;

use asw_core::flows::{Answer, Core, Reply, Undelivered};
use asw_iso8583::{Dialect, Message};
use async_trait::async_trait;

use crate::respond::{build_response, rejection};
use crate::response_code as rc;
use crate::translate::{Derive, order_code, purchase_request, refund, reversal, status, void};

/// Processing codes (F3) of the flows this switch supports.
pub mod processing_code {
    /// Purchase with a customer-presented code.
    pub const PURCHASE: &str = "000000";
    /// Void of a purchase.
    pub const VOID: &str = "020000";
    /// Purchase with a merchant-presented order code (the terminal displays a dynamic QR the
    /// buyer scans). Private use range, beside the status inquiry: ISO's `01` type is cash
    /// withdrawal, which terminals already know as something else.
    pub const ORDER_CODE: &str = "910000";
    /// Refund.
    pub const REFUND: &str = "200000";
    /// Status inquiry (private use range).
    pub const STATUS: &str = "900000";
}

/// The way back to the terminal for a whole ISO message.
#[async_trait]
pub trait IsoReply: Send + 'static {
    /// Writes the response; resolves once written (or failed).
    async fn send(self: Box<Self>, response: Message) -> Result<(), Undelivered>;
}

/// Routes decoded terminal messages into the core's flows.
pub struct IsoFront {
    core: Arc<Core>,
    dialect: Arc<Dialect>,
}

impl IsoFront {
    /// Builds the front for one dialect.
    pub fn new(core: Arc<Core>, dialect: Arc<Dialect>) -> Self {
        Self { core, dialect }
    }

    /// Handles one financial message to completion (never cancelled by a disconnect).
    pub async fn handle(&self, request: Message, reply: Box<dyn IsoReply>) {
        let mti = request.mti();
        let respond = Box::new(Responder {
            request: request.clone(),
            dialect: Arc::clone(&self.dialect),
            inner: reply,
        });
        let processing = request.get_str(3).unwrap_or_default();
        let derive = Derive {
            ids: self.core.ids(),
            today: self.core.clock().now().date(),
        };
        match (mti.as_str(), processing) {
            ("0200", processing_code::PURCHASE) => match purchase_request(&request, derive) {
                Ok(p) => self.core.purchase(p, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0200", processing_code::ORDER_CODE) => match order_code(&request, derive) {
                Ok(o) => self.core.order_code(o, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0200", processing_code::VOID) => match void(&request, derive) {
                Ok(v) => self.core.void(v, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0200", processing_code::REFUND) => match refund(&request, derive) {
                Ok(r) => self.core.refund(r, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0400" | "0401" | "0420" | "0421", _) => match reversal(&request, derive) {
                Ok(r) => self.core.reverse(r, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0100", processing_code::STATUS) => match status(&request, derive) {
                Ok(s) => self.core.status(s, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            _ => reject(respond, rc::INVALID_TRANSACTION, "unsupported message").await,
        }
    }
}

/// Answers a message the front itself refuses (unreadable fields, unsupported message): the
/// core never sees it.
async fn reject(reply: Box<Responder>, code: &'static str, why: &'static str) {
    let Some(message) = rejection(&reply.dialect, &reply.request, code, why) else {
        return;
    };
    if reply.inner.send(message).await.is_err() {
        tracing::debug!("terminal gone before a rejection");
    }
}

/// Builds the ISO response for an [`Answer`] and writes it.
struct Responder {
    request: Message,
    dialect: Arc<Dialect>,
    inner: Box<dyn IsoReply>,
}

#[async_trait]
impl Reply for Responder {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        let response = build_response(&self.dialect, &self.request, answer);
        match response {
            Some(message) => self.inner.send(message).await,
            None => Err(Undelivered),
        }
    }
}
