//! The terminal of the end-to-end tests: asw-terminal-sim's library (its [`Terminal`] on one
//! real TCP connection, its [`MessageFactory`] for every message), set up as a terminal of the
//! test configuration. Nothing here frames, encodes or builds a message itself, so the tests
//! exercise the switch with the same terminal as the load generator and the CLI.

use std::net::SocketAddr;
use std::time::Duration;

use asw_iso8583::{Message, Mti};
use asw_terminal_sim::flows::{INQUIRY, REFUND, VOID};
use asw_terminal_sim::{
    Clock, LinkConfig, MessageFactory, Original, PendingResponse, ProfileName, Reference, Stamp,
    Terminal,
};

use crate::{MID, SGD, TID};

/// How long [`Pos::request`] waits for an answer: longer than any deadline of the fast test
/// timing, so a missing answer is a failure rather than a slow switch.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// One terminal (profile B with TPDU, 2-byte length) of the test configuration.
pub struct Pos {
    /// The connection; use it directly to send without waiting or to read repeats' answers.
    pub terminal: Terminal,
    /// F42 of the messages built from now on.
    pub mid: String,
    /// F41 of the messages built from now on.
    pub tid: String,
    link: LinkConfig,
}

impl Pos {
    /// Connects as the test terminal [`TID`] of [`MID`].
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_as(addr, MID, TID).await
    }

    /// Connects as terminal `tid` of merchant `mid` (the switch binds a connection to the
    /// first terminal it names).
    pub async fn connect_as(addr: SocketAddr, mid: &str, tid: &str) -> Self {
        let link = LinkConfig::for_profile(ProfileName::PosBinary).expect("profile B link");
        let terminal = Terminal::connect(addr, link.clone())
            .await
            .expect("connect to the switch");
        Self {
            terminal,
            mid: mid.into(),
            tid: tid.into(),
            link,
        }
    }

    /// The message builder for this terminal's current F42/F41.
    pub fn messages(&self) -> MessageFactory<'_> {
        MessageFactory::new(&self.link.dialect, &self.mid, &self.tid)
    }

    /// The time fields of a message sent now: the test merchant's local time (UTC+8), which
    /// the switch checks F12/F13 against.
    pub fn stamp(stan: u32) -> Stamp {
        Clock::with_offset(time::macros::offset!(+8)).stamp(stan)
    }

    /// Writes `message` and returns the handle of its answer.
    pub async fn send(&self, message: &Message) -> PendingResponse {
        self.terminal.send(message).await.expect("send")
    }

    /// Sends `message` and waits for its answer (up to [`ANSWER_WITHIN`]).
    pub async fn request(&self, message: &Message) -> Message {
        self.terminal
            .request(message, ANSWER_WITHIN)
            .await
            .expect("an answer from the switch")
    }

    /// A purchase of `amount` SGD cents with payment code `code`, and the original a later
    /// reversal repeats.
    pub fn purchase_message(&self, stan: u32, amount: u64, code: &str) -> (Message, Original) {
        let message = self
            .messages()
            .purchase(&Self::stamp(stan), amount, SGD, code)
            .expect("purchase");
        let original = Original::of(&message).expect("a purchase names its original");
        (message, original)
    }

    /// Sends a purchase and waits for its answer.
    pub async fn purchase(&self, stan: u32, amount: u64, code: &str) -> (Message, Original) {
        let (message, original) = self.purchase_message(stan, amount, code);
        (self.request(&message).await, original)
    }

    /// An order code request (0200/910000) for `amount` SGD cents, and the original a later
    /// reversal repeats.
    pub fn order_code_message(&self, stan: u32, amount: u64) -> (Message, Original) {
        let message = self
            .messages()
            .order_code(&Self::stamp(stan), amount, SGD)
            .expect("order code");
        let original = Original::of(&message).expect("an order code names its original");
        (message, original)
    }

    /// A reversal request (0400/0401) or advice (0420/0421) of `original`, reason `98`, from
    /// this terminal (whose own key it therefore names).
    pub fn reversal_message(&self, original: &Original, mti: Mti) -> Message {
        let transmission = Self::stamp(original.stan).transmission;
        let messages = self.messages();
        match mti {
            Mti::REVERSAL_REQUEST => messages.reversal(&transmission, original, "98", false),
            Mti::REVERSAL_REQUEST_REPEAT => messages.reversal(&transmission, original, "98", true),
            Mti::REVERSAL_ADVICE => messages.reversal_advice(&transmission, original, "98", false),
            Mti::REVERSAL_ADVICE_REPEAT => {
                messages.reversal_advice(&transmission, original, "98", true)
            }
            other => panic!("{other} is not a reversal"),
        }
        .expect("reversal")
    }

    /// A void ([`VOID`]), refund ([`REFUND`]) or status inquiry ([`INQUIRY`], `amount`
    /// ignored) naming its original by any mix of F37, F48 `PR` and F48 `PI`.
    pub fn follow_up_message(
        &self,
        processing: &str,
        stan: u32,
        amount: u64,
        original: &Reference,
    ) -> Message {
        let stamp = Self::stamp(stan);
        let messages = self.messages();
        match processing {
            VOID => messages.void(&stamp, amount, SGD, original),
            REFUND => messages.refund(&stamp, amount, SGD, original),
            INQUIRY => messages.inquiry(&stamp, original),
            other => panic!("{other} is not a follow-up"),
        }
        .expect("follow-up")
    }

    /// A void of a purchase, quoting its RRN.
    pub fn void_message(&self, stan: u32, amount: u64, rrn: &str) -> Message {
        let original = Reference {
            rrn: Some(rrn.into()),
            ..Reference::default()
        };
        self.follow_up_message(VOID, stan, amount, &original)
    }

    /// A refund of a purchase, quoting its `paymentRequestId`.
    pub fn refund_message(&self, stan: u32, amount: u64, payment_request_id: &str) -> Message {
        let original = Reference {
            payment_request_id: Some(payment_request_id.into()),
            ..Reference::default()
        };
        self.follow_up_message(REFUND, stan, amount, &original)
    }

    /// A status inquiry about a `paymentRequestId`.
    pub fn status_message(&self, stan: u32, payment_request_id: &str) -> Message {
        let original = Reference {
            payment_request_id: Some(payment_request_id.into()),
            ..Reference::default()
        };
        self.follow_up_message(INQUIRY, stan, 0, &original)
    }
}
