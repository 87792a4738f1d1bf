//! The composition root: builds every adapter from the configuration and wires them to the
//! core. The binary and the end-to-end tests use this same builder.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_core::flows::{Core, CoreSettings};
use asw_core::ids::IdGenerator;
use asw_core::merchants::MerchantDirectory;
use asw_core::ports::{Clock, SystemClock};
use asw_downstream::{Responder, Server};
use asw_front_iso::{IsoFront, IsoReply};
use asw_iso8583::{Dialect, Message};
use async_trait::async_trait;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::admin::{self, Readiness};
use crate::config::Config;
use crate::webhook::{self, WebhookState};

/// Why the switch could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid (exit code 64).
    #[error("invalid configuration:\n{0}")]
    Config(#[from] crate::config::ConfigErrors),
    /// A key, dialect or secret could not be loaded.
    #[error("{0}")]
    Setup(String),
    /// Redis could not be reached or configured.
    #[error("redis: {0}")]
    Store(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A running switch.
pub struct RunningSwitch {
    /// Where terminals connect.
    pub downstream_addr: SocketAddr,
    /// Where Antom posts notifications.
    pub webhook_addr: SocketAddr,
    /// Admin endpoints.
    pub admin_addr: SocketAddr,
    /// The merchant REST API, when `[rest]` is configured.
    pub rest_addr: Option<SocketAddr>,
    server: Server,
    engine_stop: CancellationToken,
    engine_tasks: tokio_util::task::TaskTracker,
    readiness: Arc<Readiness>,
    http_shutdown: CancellationToken,
    http_tasks: Vec<tokio::task::JoinHandle<()>>,
}

struct Front {
    iso: IsoFront,
}

struct ResponderReply(Responder);

#[async_trait]
impl IsoReply for ResponderReply {
    async fn send(self: Box<Self>, response: Message) -> Result<(), asw_core::flows::Undelivered> {
        self.0
            .send(response)
            .await
            .map_err(|_| asw_core::flows::Undelivered)
    }
}

#[async_trait]
impl asw_downstream::RequestHandler for Front {
    async fn handle(&self, request: Message, responder: Responder) {
        self.iso
            .handle(request, Box::new(ResponderReply(responder)))
            .await;
    }
}

/// The REST front's first responses, kept in Redis beside the journal.
struct RedisResponses(Arc<asw_store::RedisStore>);

#[async_trait]
impl asw_front_rest::ResponseStore for RedisResponses {
    async fn load(
        &self,
        at: asw_front_rest::KeptAt<'_>,
    ) -> Result<Option<String>, asw_core::ports::StoreError> {
        self.0
            .load_response(at.tag, at.journal_id, at.dedup_key)
            .await
    }

    async fn save_first(
        &self,
        at: asw_front_rest::KeptAt<'_>,
        response: &str,
        ttl_ms: u64,
    ) -> Result<String, asw_core::ports::StoreError> {
        self.0
            .save_first_response(at.tag, at.journal_id, at.dedup_key, response, ttl_ms)
            .await
    }
}

fn read_key(path: &std::path::Path) -> Result<String, StartError> {
    std::fs::read_to_string(path)
        .map_err(|e| StartError::Setup(format!("cannot read key file {}: {e}", path.display())))
}

fn upstream_groups(config: &Config) -> Result<Vec<asw_upstream::ClientGroupConfig>, StartError> {
    let up = &config.upstream;
    let mut public = vec![read_key(&up.antom_public_key)?];
    if let Some(next) = &up.antom_public_key_next {
        public.push(read_key(next)?);
    }
    let mut groups = vec![asw_upstream::ClientGroupConfig {
        name: "default".into(),
        base_url: up.base_url.clone(),
        client_id: up.client_id.clone(),
        merchant_private_key: read_key(&up.merchant_private_key)?,
        key_version: up.key_version,
        antom_public_keys: public,
        agent_token: up.agent_token.clone(),
    }];
    for extra in &up.clients {
        groups.push(asw_upstream::ClientGroupConfig {
            name: extra.name.clone(),
            base_url: extra
                .base_url
                .clone()
                .unwrap_or_else(|| up.base_url.clone()),
            client_id: extra.client_id.clone(),
            merchant_private_key: read_key(&extra.merchant_private_key)?,
            key_version: extra.key_version,
            antom_public_keys: extra
                .antom_public_keys
                .iter()
                .map(|p| read_key(p))
                .collect::<Result<_, _>>()?,
            agent_token: extra.agent_token.clone(),
        });
    }
    Ok(groups)
}

fn dialect(config: &Config) -> Result<Dialect, StartError> {
    match &config.downstream.dialect_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                StartError::Setup(format!("cannot read dialect {}: {e}", path.display()))
            })?;
            Dialect::from_toml(&text)
                .map_err(|e| StartError::Setup(format!("dialect {}: {e}", path.display())))
        }
        None => config
            .downstream
            .profile
            .dialect()
            .map_err(|e| StartError::Setup(format!("built-in dialect: {e}"))),
    }
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = result {
            warn!(%error, "HTTP server stopped");
        }
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

impl RunningSwitch {
    /// Validates the configuration, connects to Redis, builds every part and binds every port.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        config.validate()?;
        for warning in config.warnings() {
            warn!("{warning}");
        }
        let prometheus = crate::telemetry::prometheus();
        crate::metrics::register_all();
        let secret = config.ids_secret().map_err(StartError::Setup)?;
        let dialect = Arc::new(dialect(&config)?);

        let store = asw_store::RedisStore::connect(config.redis.clone())
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
        for finding in store.findings() {
            warn!(setting = finding.setting, found = %finding.found, expected = finding.expected, why = finding.why, "redis server configuration is not safe for payments");
        }
        store.write_events_only_for(crate::merchant_events::merchants_with_endpoints(&config));
        let store = Arc::new(store);

        let settings = asw_upstream::UpstreamSettings {
            pay_timeout_ms: config.upstream.pay_timeout_ms,
            inquiry_payment_timeout_ms: config.upstream.inquiry_timeout_ms,
            cancel_timeout_ms: config.upstream.cancel_timeout_ms,
            refund_timeout_ms: config.upstream.refund_timeout_ms,
            session_timeout_ms: config.upstream.session_timeout_ms,
            sign_on_blocking_pool: config.upstream.sign_on_blocking_pool,
            ..asw_upstream::UpstreamSettings::default()
        };
        let groups = upstream_groups(&config)?;
        let verifiers: HashMap<String, asw_antom::Verifier> = groups
            .iter()
            .map(|g| {
                asw_antom::Verifier::from_public_keys(&g.antom_public_keys)
                    .map(|v| (g.client_id.clone(), v))
                    .map_err(|e| StartError::Setup(format!("antom public key of {}: {e}", g.name)))
            })
            .collect::<Result<_, _>>()?;
        let upstream = Arc::new(
            asw_upstream::AntomClient::new(settings, groups)
                .map_err(|e| StartError::Setup(e.to_string()))?,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);

        let notify_url = config.webhook.public_url.clone();
        let core = Arc::new(Core::new(
            upstream.clone(),
            store.clone(),
            clock.clone(),
            IdGenerator::new(&secret),
            MerchantDirectory::new(config.merchants.clone()),
            CoreSettings {
                timing: config.timing.clone(),
                payment_code_rule: config.payment_code.clone(),
                notify_url,
                order_description: "In-store payment".into(),
                max_in_flight_payments: config.admission.max_in_flight_payments,
            },
        ));

        let readiness = Arc::new(Readiness::new(store.clone()));
        let engine = Arc::new(
            asw_reversal::ReversalEngine::new(
                upstream.clone(),
                store.clone(),
                store.clone(),
                clock.clone(),
                config.reversal.clone(),
            )
            .with_closing_look(core.clone())
            .with_clock_skew(config.timing.clock_skew()),
        );
        let engine_stop = CancellationToken::new();
        let engine_tasks = engine.start(engine_stop.clone());
        // Merchants' events: delivered beside the engine, stopped with it.
        if let Some(task) =
            crate::merchant_events::start(&config, core.clone(), store.clone(), engine_stop.clone())
                .map_err(StartError::Setup)?
        {
            engine_tasks.spawn(async move {
                let _ = task.await;
            });
        }
        readiness.set_consumers_running(true);

        let http_shutdown = CancellationToken::new();
        let webhook_listener = bind(config.webhook.listen).await?;
        let admin_listener = bind(config.admin.listen).await?;
        let webhook_addr = webhook_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.webhook.listen,
                source,
            })?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: config.admin.listen,
                source,
            })?;
        let webhook_state = Arc::new(WebhookState {
            core: core.clone(),
            verifiers,
            signed_path: config.webhook.signed_path.clone(),
        });
        let mut http_tasks = vec![
            serve(
                webhook_listener,
                webhook::router(
                    webhook_state,
                    &config.webhook.path,
                    config.webhook.max_body_bytes,
                ),
                http_shutdown.clone(),
            )
            .await,
            serve(
                admin_listener,
                admin::router(prometheus, readiness.clone()),
                http_shutdown.clone(),
            )
            .await,
        ];

        let rest_addr = match &config.rest {
            Some(rest) => {
                let listener = bind(rest.listen).await?;
                let addr = listener.local_addr().map_err(|source| StartError::Bind {
                    addr: rest.listen,
                    source,
                })?;
                let keys = asw_front_rest::ApiKeys::from_merchants(&config.merchants)
                    .map_err(|e| StartError::Setup(format!("api keys: {e:?}")))?;
                let front = Arc::new(asw_front_rest::RestFront::new(
                    core.clone(),
                    keys,
                    Arc::new(RedisResponses(store.clone())),
                    asw_front_rest::RestSettings {
                        sync_wait_ms: rest.sync_wait_ms,
                        max_body_bytes: rest.max_body_bytes,
                        idempotency_ttl_ms: rest.idempotency_ttl_ms,
                        max_in_flight_per_key: rest.max_in_flight_per_key,
                        allow_http_loopback_return_urls: rest.allow_http_loopback_return_urls,
                        card_like_methods: rest.card_like_methods.clone(),
                        non_refundable_methods: rest.non_refundable_methods.clone(),
                    },
                ));
                let router = asw_front_rest::router(front);
                let task = match &rest.tls {
                    None => serve(listener, router, http_shutdown.clone()).await,
                    Some(tls) => {
                        let acceptor = tls
                            .as_listener()
                            .acceptor()
                            .map_err(|e| StartError::Setup(format!("rest.tls: {e}")))?;
                        let handshake = Duration::from_millis(tls.handshake_timeout_ms);
                        crate::https::serve(
                            listener,
                            router,
                            acceptor,
                            handshake,
                            http_shutdown.clone(),
                        )
                    }
                };
                http_tasks.push(task);
                Some(addr)
            }
            None => None,
        };

        let front = Arc::new(Front {
            iso: IsoFront::new(core.clone(), dialect.clone()),
        });
        let server = Server::start_with_identity(
            config.downstream.server_config(),
            (*dialect).clone(),
            front,
            &config.merchant_networks(),
        )
        .await
        .map_err(|e| StartError::Setup(format!("downstream: {e}")))?;
        let downstream_addr = server.local_addr();
        // Every listener is bound (the REST API's above, the terminals' here): only now can a
        // load balancer send anything.
        readiness.set_listening();
        info!(%downstream_addr, %webhook_addr, %admin_addr, ?rest_addr, "antom-switch started");
        Ok(Self {
            downstream_addr,
            webhook_addr,
            admin_addr,
            rest_addr,
            server,
            engine_stop,
            engine_tasks,
            readiness,
            http_shutdown,
            http_tasks,
        })
    }

    /// Graceful shutdown: readiness false, stop accepting terminals, let in-flight transactions
    /// finish within the grace period (the deadline index covers the rest), stop the engine
    /// (its unacknowledged entries stay queued), stop the HTTP servers.
    pub async fn shutdown(self) {
        self.readiness.set_draining();
        let outcome = self.server.shutdown().await;
        info!(?outcome, "terminal listener stopped");
        self.engine_stop.cancel();
        self.engine_tasks.close();
        if tokio::time::timeout(Duration::from_secs(10), self.engine_tasks.wait())
            .await
            .is_err()
        {
            warn!("reversal engine did not stop in time; its unacknowledged entries stay queued");
        }
        self.readiness.set_consumers_running(false);
        self.http_shutdown.cancel();
        for task in self.http_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        info!("antom-switch stopped");
    }
}
