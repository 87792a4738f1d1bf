//! The way back from the core to a waiting HTTP handler.

use asw_core::flows::{Answer, Reply, Undelivered};
use async_trait::async_trait;
use tokio::sync::oneshot;

/// Hands the core's answer to the handler waiting on the receiver. When the handler stopped
/// waiting (its `sync_wait_ms` passed, or the caller hung up) the answer is undelivered: an
/// approval then goes back under the sweeper's watch until a read delivers it.
pub(crate) struct ChannelReply(oneshot::Sender<Answer>);

impl ChannelReply {
    pub(crate) fn new() -> (Box<Self>, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (Box::new(Self(tx)), rx)
    }
}

/// The core's answer if it comes within `wait`, else `None` — and then no answer can be handed
/// over any more. The receiver is closed before it is given up, so an answer sent in the same
/// instant is either taken here (and said) or refused to the core (which then treats it as
/// undelivered): never accepted by the channel and dropped unread, which would leave the core
/// believing an approval delivered that nobody was told.
pub(crate) async fn answer_within(
    mut answered: oneshot::Receiver<Answer>,
    wait: std::time::Duration,
) -> Option<Answer> {
    tokio::select! {
        received = &mut answered => received.ok(),
        () = tokio::time::sleep(wait) => {
            answered.close();
            answered.try_recv().ok()
        }
    }
}

#[async_trait]
impl Reply for ChannelReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        self.0.send(answer.clone()).map_err(|_| Undelivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_core::flows::{Outcome, Refusal};
    use std::time::Duration;

    #[tokio::test]
    async fn an_answer_is_either_taken_or_refused_to_the_core_never_dropped() {
        let answer = || Answer::refused(Refusal::StillRunning);
        // Sent before the wait ends: taken.
        let (reply, answered) = ChannelReply::new();
        assert!(reply.send(&answer()).await.is_ok());
        let got = answer_within(answered, Duration::from_millis(10)).await;
        assert_eq!(
            got.map(|a| a.outcome),
            Some(Outcome::Refused(Refusal::StillRunning))
        );
        // Sent after the wait gave up: the core is told it was not delivered.
        let (reply, answered) = ChannelReply::new();
        assert_eq!(
            answer_within(answered, Duration::from_millis(10)).await,
            None
        );
        assert!(reply.send(&answer()).await.is_err());
    }
}
