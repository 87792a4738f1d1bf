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

#[async_trait]
impl Reply for ChannelReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        self.0.send(answer.clone()).map_err(|_| Undelivered)
    }
}
