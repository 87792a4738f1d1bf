//! An axum router served over TLS (the REST API's `[rest.tls]`): accept, handshake within a
//! time limit, then HTTP/1.1 or HTTP/2 on the encrypted stream. `axum::serve` speaks plain TCP
//! only, hence this small loop.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Serves `router` over TLS until `shutdown`; connections already open finish on their own.
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        warn!(%error, "REST listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(error)) => {
                        debug!(%peer, %error, "REST TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        debug!(%peer, "REST TLS handshake timed out");
                        return;
                    }
                };
                let service = TowerToHyperService::new(router);
                if let Err(error) = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await
                {
                    debug!(%peer, %error, "REST connection ended with an error");
                }
            });
        }
    })
}
