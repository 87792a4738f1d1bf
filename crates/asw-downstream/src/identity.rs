//! Who may speak for which terminal: the identity policy of the terminal listener.
//!
//! A terminal names itself in every message (F42 merchant id, F41 terminal id). Nothing in the
//! message proves it, so the claim is checked against what the connection itself shows:
//!
//! 1. the source address, against the merchant's `allowed_networks` (when it has any);
//! 2. on a mutual-TLS listener, the verified client certificate, which must carry the name the
//!    `client_identity` template gives for the claimed terminal;
//! 3. the connection's binding: the first terminal admitted on a connection is the only one it
//!    may speak for from then on, unless the connection is a configured concentrator, which
//!    may speak for exactly the terminals it declares.
//!
//! [`IdentityPolicy::admit`] is a pure function of those facts, so it is tested without sockets;
//! the connection reader calls it before anything is handed to the core or answered locally.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::config::{ConfigError, ServerConfig};
use crate::identity_config::{NameSource, Template};
use crate::peer_certificate::CertificateNames;

/// A terminal as claimed in a message: merchant id (F42) and terminal id (F41), trailing
/// spaces removed (they are padding of the fixed-length fields).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TerminalRef {
    /// F42 without padding (empty when the message has none).
    pub merchant: String,
    /// F41 without padding.
    pub terminal: String,
}

impl TerminalRef {
    /// A terminal from the raw field values.
    pub fn new(merchant: &str, terminal: &str) -> TerminalRef {
        TerminalRef {
            merchant: merchant.trim_end_matches(' ').to_string(),
            terminal: terminal.trim_end_matches(' ').to_string(),
        }
    }

    /// The terminal a message claims to be, or `None` when it carries no F41 (a network
    /// management message that names no terminal).
    pub fn claimed_by(message: &asw_iso8583::Message) -> Option<TerminalRef> {
        let terminal = message.get(41)?;
        let merchant = message.get(42).unwrap_or_default();
        Some(TerminalRef::new(
            &String::from_utf8_lossy(merchant),
            &String::from_utf8_lossy(terminal),
        ))
    }
}

impl fmt::Display for TerminalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.merchant, self.terminal)
    }
}

/// What the other end of a connection showed before its first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Source address of the TCP connection.
    pub addr: IpAddr,
    /// Names of the verified client certificate (mutual TLS only).
    pub certificate: Option<CertificateNames>,
}

impl Peer {
    /// A peer; an IPv4 address seen through a dual-stack socket (`::ffff:a.b.c.d`) is
    /// compared as the IPv4 address it is.
    pub fn new(addr: IpAddr, certificate: Option<CertificateNames>) -> Peer {
        Peer {
            addr: addr.to_canonical(),
            certificate,
        }
    }
}

/// What a connection may speak for so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Binding {
    /// Nothing admitted yet: the next admitted terminal binds the connection.
    #[default]
    Unbound,
    /// Bound to this terminal for the connection's life.
    Terminal(TerminalRef),
    /// A concentrator (index in the configured list): speaks for what it declares.
    Concentrator(usize),
}

/// Why a message was refused. Also the `reason` label of the refusal counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client certificate does not name the claimed terminal.
    CertificateMismatch,
    /// The source address is outside the merchant's `allowed_networks`.
    NetworkNotAllowed,
    /// The connection is bound to another terminal.
    TerminalSwitched,
    /// A concentrator claimed a terminal it does not declare.
    NotCarried,
}

impl Refusal {
    /// Every reason, to create the label set at zero.
    pub const ALL: [Refusal; 4] = [
        Refusal::CertificateMismatch,
        Refusal::NetworkNotAllowed,
        Refusal::TerminalSwitched,
        Refusal::NotCarried,
    ];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::CertificateMismatch => "certificate_mismatch",
            Refusal::NetworkNotAllowed => "network_not_allowed",
            Refusal::TerminalSwitched => "terminal_switched",
            Refusal::NotCarried => "not_carried",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct CertificateRule {
    from: NameSource,
    template: Template,
}

struct Concentrator {
    name: String,
    networks: Vec<IpNet>,
    certificate_name: Option<String>,
    terminals: HashSet<TerminalRef>,
    merchants: HashSet<String>,
}

impl Concentrator {
    fn matches(&self, peer: &Peer, from: Option<NameSource>) -> bool {
        let network = self.networks.is_empty() || in_any(&self.networks, peer.addr);
        let certificate = match (&self.certificate_name, from) {
            (None, _) => true,
            (Some(name), Some(from)) => peer
                .certificate
                .as_ref()
                .is_some_and(|c| c.carries(from, name)),
            // Validation refuses a certificate name without mutual TLS; never match then.
            (Some(_), None) => false,
        };
        network && certificate
    }

    fn carries(&self, claim: &TerminalRef) -> bool {
        self.merchants.contains(&claim.merchant) || self.terminals.contains(claim)
    }
}

fn in_any(networks: &[IpNet], addr: IpAddr) -> bool {
    networks.iter().any(|n| n.contains(&addr))
}

/// The identity rules of one listener, compiled from the configuration.
pub struct IdentityPolicy {
    merchant_networks: HashMap<String, Vec<IpNet>>,
    certificate: Option<CertificateRule>,
    concentrators: Vec<Concentrator>,
}

impl fmt::Debug for IdentityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_networks(key: &str, values: &[String], problems: &mut Vec<String>) -> Vec<IpNet> {
    let mut networks = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match IpNet::from_str(value.trim()) {
            Ok(net) => networks.push(net),
            Err(_) => problems.push(format!(
                "{key}[{i}]: {value:?} is not a CIDR network (one host: a.b.c.d/32)"
            )),
        }
    }
    networks
}

impl IdentityPolicy {
    /// Compiles the rules: the certificate mapping (enforced exactly when
    /// `tls.client_ca_file` is set), the concentrators of `config`, and each merchant's
    /// allowed source networks (`merchant id → CIDRs`; a merchant absent or with none may
    /// connect from anywhere). Every problem is reported at once.
    pub fn new(
        config: &ServerConfig,
        merchant_networks: &BTreeMap<String, Vec<String>>,
    ) -> Result<IdentityPolicy, ConfigError> {
        let mut problems = Vec::new();
        let certificate = match &config.tls {
            Some(tls) if tls.client_ca_file.is_some() => {
                match Template::parse(&tls.client_identity.template) {
                    Ok(template) => Some(CertificateRule {
                        from: tls.client_identity.from,
                        template,
                    }),
                    Err(why) => {
                        problems.push(format!("tls.client_identity.template: {why}"));
                        None
                    }
                }
            }
            _ => None,
        };
        let mutual_tls = config
            .tls
            .as_ref()
            .is_some_and(|t| t.client_ca_file.is_some());
        let mut by_merchant = HashMap::new();
        for (merchant, values) in merchant_networks {
            let key = format!("merchant {merchant}: allowed_networks");
            let networks = parse_networks(&key, values, &mut problems);
            if !networks.is_empty() {
                by_merchant.insert(merchant.trim_end_matches(' ').to_string(), networks);
            }
        }
        let mut names = HashSet::new();
        let mut concentrators = Vec::new();
        for (i, c) in config.concentrators.iter().enumerate() {
            let at = |k: &str| format!("concentrators[{i}].{k}");
            if c.name.trim().is_empty() {
                problems.push(at("name: must be set"));
            } else if !names.insert(c.name.as_str()) {
                problems.push(at("name: duplicate concentrator name"));
            }
            let networks = parse_networks(&at("networks"), &c.networks, &mut problems);
            match (&c.certificate_name, mutual_tls) {
                (Some(_), false) => problems.push(at(
                    "certificate_name: only with mutual TLS (downstream.tls.client_ca_file)",
                )),
                (None, true) => problems.push(at(
                    "certificate_name: required with mutual TLS (otherwise any terminal \
                     certificate from its networks would be a concentrator)",
                )),
                (Some(name), true) if name.is_empty() => {
                    problems.push(at("certificate_name: must not be empty"))
                }
                (None, false) if c.networks.is_empty() => problems.push(at(
                    "networks: at least one network (or certificate_name with mutual TLS)",
                )),
                _ => {}
            }
            if c.terminals.is_empty() && c.merchants.is_empty() {
                problems.push(at(
                    "terminals: declare the terminals or merchants it carries",
                ));
            }
            let mut terminals = HashSet::new();
            for (j, t) in c.terminals.iter().enumerate() {
                let terminal = TerminalRef::new(&t.merchant, &t.terminal);
                if terminal.merchant.is_empty() || terminal.terminal.is_empty() {
                    problems.push(at(&format!(
                        "terminals[{j}]: merchant and terminal must be set"
                    )));
                }
                terminals.insert(terminal);
            }
            let mut merchants = HashSet::new();
            for (j, m) in c.merchants.iter().enumerate() {
                let merchant = m.trim_end_matches(' ').to_string();
                if merchant.is_empty() {
                    problems.push(at(&format!("merchants[{j}]: must not be empty")));
                }
                merchants.insert(merchant);
            }
            concentrators.push(Concentrator {
                name: c.name.clone(),
                networks,
                certificate_name: c.certificate_name.clone(),
                terminals,
                merchants,
            });
        }
        if problems.is_empty() {
            Ok(IdentityPolicy {
                merchant_networks: by_merchant,
                certificate,
                concentrators,
            })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// What a new connection starts as: the first concentrator it matches, else unbound.
    pub fn open(&self, peer: &Peer) -> Binding {
        let from = self.certificate.as_ref().map(|c| c.from);
        self.concentrators
            .iter()
            .position(|c| c.matches(peer, from))
            .map_or(Binding::Unbound, Binding::Concentrator)
    }

    /// The name of the concentrator a binding stands for, for logs.
    pub fn concentrator_name(&self, binding: &Binding) -> Option<&str> {
        match binding {
            Binding::Concentrator(i) => self.concentrators.get(*i).map(|c| c.name.as_str()),
            _ => None,
        }
    }

    /// Decides whether `peer` may speak for `claim` on a connection in state `binding`, and
    /// binds an unbound connection to the claim when it may. Checks in order: the merchant's
    /// networks, then a concentrator's declared terminals, or for any other connection the
    /// certificate and the binding.
    pub fn admit(
        &self,
        peer: &Peer,
        claim: &TerminalRef,
        binding: &mut Binding,
    ) -> Result<(), Refusal> {
        if let Some(networks) = self.merchant_networks.get(&claim.merchant)
            && !in_any(networks, peer.addr)
        {
            return Err(Refusal::NetworkNotAllowed);
        }
        if let Binding::Concentrator(i) = binding {
            // The concentrator's certificate names the concentrator, not the terminals: its
            // declaration is what says which terminals it may speak for.
            return match self.concentrators.get(*i) {
                Some(c) if c.carries(claim) => Ok(()),
                _ => Err(Refusal::NotCarried),
            };
        }
        if let Some(rule) = &self.certificate {
            let expected = rule.template.render(&claim.merchant, &claim.terminal);
            let named = peer
                .certificate
                .as_ref()
                .is_some_and(|c| c.carries(rule.from, &expected));
            if !named {
                return Err(Refusal::CertificateMismatch);
            }
        }
        match binding {
            Binding::Terminal(bound) if bound != claim => Err(Refusal::TerminalSwitched),
            Binding::Terminal(_) => Ok(()),
            _ => {
                *binding = Binding::Terminal(claim.clone());
                Ok(())
            }
        }
    }

    /// One line for `check-config` and the start-up log: what this listener guarantees.
    pub fn describe(&self) -> String {
        let speakers = match &self.certificate {
            Some(rule) => format!(
                "mutual TLS, the client certificate's {} must be \"{}\"{}",
                rule.from.as_str(),
                rule.template.render("{merchant}", "{terminal}"),
                if rule.template.names_terminal() {
                    ""
                } else {
                    " (merchant certificates)"
                }
            ),
            None => {
                "no certificate binding (plain TCP or TLS without client certificates)".to_string()
            }
        };
        let concentrators = if self.concentrators.is_empty() {
            "no concentrators".to_string()
        } else {
            let names: Vec<&str> = self.concentrators.iter().map(|c| c.name.as_str()).collect();
            format!("concentrators: {}", names.join(", "))
        };
        format!(
            "{speakers}; one terminal per connection; source networks restricted for {} \
             merchant(s); {concentrators}",
            self.merchant_networks.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity_config::{CarriedTerminal, ClientIdentity, ConcentratorConfig};
    use crate::tls::TlsConfig;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn t(merchant: &str, terminal: &str) -> TerminalRef {
        TerminalRef::new(merchant, terminal)
    }

    fn dns(names: &[&str]) -> Option<CertificateNames> {
        Some(CertificateNames {
            dns_names: names.iter().map(|n| n.to_string()).collect(),
            ..CertificateNames::default()
        })
    }

    fn mtls(identity: ClientIdentity) -> ServerConfig {
        ServerConfig {
            tls: Some(TlsConfig {
                cert_file: "server.crt".into(),
                key_file: "server.key".into(),
                client_ca_file: Some("ca.crt".into()),
                handshake_timeout_ms: 1_000,
                client_identity: identity,
            }),
            ..ServerConfig::default()
        }
    }

    fn policy(config: &ServerConfig, networks: &[(&str, &[&str])]) -> IdentityPolicy {
        let networks = networks
            .iter()
            .map(|(m, n)| (m.to_string(), n.iter().map(|s| s.to_string()).collect()))
            .collect();
        IdentityPolicy::new(config, &networks).unwrap()
    }

    fn hub(networks: &[&str], certificate_name: Option<&str>) -> ConcentratorConfig {
        ConcentratorConfig {
            name: "ecr-hub".into(),
            networks: networks.iter().map(|s| s.to_string()).collect(),
            certificate_name: certificate_name.map(str::to_string),
            terminals: vec![CarriedTerminal {
                merchant: "M1".into(),
                terminal: "T1".into(),
            }],
            merchants: vec!["M2".into()],
        }
    }

    /// Admits a sequence of claims on one connection; returns each outcome.
    fn session(
        p: &IdentityPolicy,
        peer: &Peer,
        claims: &[TerminalRef],
    ) -> Vec<Result<(), Refusal>> {
        let mut binding = p.open(peer);
        claims
            .iter()
            .map(|c| p.admit(peer, c, &mut binding))
            .collect()
    }

    #[test]
    fn plain_connections_are_bound_to_their_first_terminal() {
        let p = policy(&ServerConfig::default(), &[]);
        let peer = Peer::new(ip("127.0.0.1"), None);
        assert_eq!(
            session(
                &p,
                &peer,
                &[
                    t("M1", "T1"),
                    t("M1", "T1   "),
                    t("M1", "T2"),
                    t("M2", "T1"),
                    t("M1", "T1")
                ]
            ),
            [
                Ok(()),
                Ok(()),
                Err(Refusal::TerminalSwitched),
                Err(Refusal::TerminalSwitched),
                Ok(()),
            ]
        );
    }

    #[test]
    fn a_refused_first_claim_does_not_bind() {
        let p = policy(&ServerConfig::default(), &[("M1", &["10.0.0.0/8"])]);
        let peer = Peer::new(ip("127.0.0.1"), None);
        assert_eq!(
            session(&p, &peer, &[t("M1", "T1"), t("M2", "T1"), t("M2", "T2")]),
            [
                Err(Refusal::NetworkNotAllowed),
                Ok(()),
                Err(Refusal::TerminalSwitched),
            ]
        );
    }

    #[test]
    fn merchant_networks_apply_to_every_message() {
        let p = policy(
            &ServerConfig::default(),
            &[("M1", &["10.0.0.0/8", "2001:db8::/32"]), ("M2", &[])],
        );
        let admitted = |addr: &str, claim: TerminalRef| {
            p.admit(&Peer::new(ip(addr), None), &claim, &mut Binding::Unbound)
        };
        assert_eq!(admitted("10.1.2.3", t("M1", "T1")), Ok(()));
        assert_eq!(admitted("::ffff:10.1.2.3", t("M1", "T1")), Ok(()));
        assert_eq!(admitted("2001:db8::1", t("M1", "T1")), Ok(()));
        assert_eq!(
            admitted("127.0.0.1", t("M1", "T1")),
            Err(Refusal::NetworkNotAllowed)
        );
        // Padding in F42 does not escape the allowlist.
        assert_eq!(
            admitted("127.0.0.1", t("M1 ", "T1")),
            Err(Refusal::NetworkNotAllowed)
        );
        // No networks, or a merchant not configured: any source.
        assert_eq!(admitted("127.0.0.1", t("M2", "T1")), Ok(()));
        assert_eq!(admitted("127.0.0.1", t("M9", "T1")), Ok(()));
    }

    #[test]
    fn the_certificate_names_the_terminal_it_speaks_for() {
        let p = policy(&mtls(ClientIdentity::default()), &[]);
        let peer = Peer::new(ip("127.0.0.1"), dns(&["T1.M1"]));
        assert_eq!(
            session(
                &p,
                &peer,
                &[t("M1", "T2"), t("M2", "T1"), t("M1", "T1 "), t("M1", "T1")]
            ),
            [
                Err(Refusal::CertificateMismatch),
                Err(Refusal::CertificateMismatch),
                Ok(()),
                Ok(()),
            ]
        );
        // Names are compared exactly, and only where the mapping says.
        let other_case = Peer::new(ip("127.0.0.1"), dns(&["t1.m1"]));
        assert_eq!(
            session(&p, &other_case, &[t("M1", "T1")]),
            [Err(Refusal::CertificateMismatch)]
        );
        let cn = Peer::new(
            ip("127.0.0.1"),
            Some(CertificateNames {
                common_names: vec!["T1.M1".into()],
                ..CertificateNames::default()
            }),
        );
        assert_eq!(
            session(&p, &cn, &[t("M1", "T1")]),
            [Err(Refusal::CertificateMismatch)]
        );
        let none = Peer::new(ip("127.0.0.1"), None);
        assert_eq!(
            session(&p, &none, &[t("M1", "T1")]),
            [Err(Refusal::CertificateMismatch)]
        );
    }

    #[test]
    fn a_merchant_certificate_speaks_for_one_of_its_terminals_per_connection() {
        let p = policy(
            &mtls(ClientIdentity {
                from: NameSource::SanUri,
                template: "urn:store:{merchant}".into(),
            }),
            &[],
        );
        let peer = Peer::new(
            ip("127.0.0.1"),
            Some(CertificateNames {
                uris: vec!["urn:store:M1".into()],
                ..CertificateNames::default()
            }),
        );
        assert_eq!(
            session(&p, &peer, &[t("M2", "T1"), t("M1", "T7"), t("M1", "T8")]),
            [
                Err(Refusal::CertificateMismatch),
                Ok(()),
                Err(Refusal::TerminalSwitched),
            ]
        );
    }

    #[test]
    fn a_concentrator_carries_exactly_what_it_declares() {
        let p = policy(
            &ServerConfig {
                concentrators: vec![hub(&["10.1.2.3/32"], None)],
                ..ServerConfig::default()
            },
            &[("M2", &["10.0.0.0/8"])],
        );
        let from_hub = Peer::new(ip("10.1.2.3"), None);
        assert_eq!(p.open(&from_hub), Binding::Concentrator(0));
        assert_eq!(
            p.concentrator_name(&Binding::Concentrator(0)),
            Some("ecr-hub")
        );
        assert_eq!(
            session(
                &p,
                &from_hub,
                &[
                    t("M1", "T1"),
                    t("M2", "T5"),
                    t("M2", "T6 "),
                    t("M1", "T2"),
                    t("M3", "T1"),
                    t("M1", "T1")
                ]
            ),
            [
                Ok(()),
                Ok(()),
                Ok(()),
                Err(Refusal::NotCarried),
                Err(Refusal::NotCarried),
                Ok(()),
            ]
        );
        // Any other host is an ordinary terminal connection.
        let elsewhere = Peer::new(ip("10.1.2.4"), None);
        assert_eq!(p.open(&elsewhere), Binding::Unbound);
        assert_eq!(
            session(&p, &elsewhere, &[t("M1", "T1"), t("M1", "T2")]),
            [Ok(()), Err(Refusal::TerminalSwitched)]
        );
    }

    #[test]
    fn a_concentrator_over_mutual_tls_is_known_by_its_certificate() {
        let mut config = mtls(ClientIdentity::default());
        config.concentrators = vec![hub(&["10.0.0.0/8"], Some("hub.example"))];
        let p = policy(&config, &[]);
        let hub_peer = Peer::new(ip("10.9.9.9"), dns(&["hub.example"]));
        assert_eq!(
            session(
                &p,
                &hub_peer,
                &[t("M1", "T1"), t("M2", "T3"), t("M1", "T2")]
            ),
            [Ok(()), Ok(()), Err(Refusal::NotCarried)]
        );
        // Its certificate from outside its networks, or another certificate inside them:
        // an ordinary terminal, held to the certificate binding.
        for peer in [
            Peer::new(ip("192.168.1.1"), dns(&["hub.example"])),
            Peer::new(ip("10.9.9.9"), dns(&["T1.M1"])),
        ] {
            assert_eq!(p.open(&peer), Binding::Unbound);
        }
        assert_eq!(
            session(
                &p,
                &Peer::new(ip("192.168.1.1"), dns(&["hub.example"])),
                &[t("M1", "T1")]
            ),
            [Err(Refusal::CertificateMismatch)]
        );
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let mut config = mtls(ClientIdentity {
            from: NameSource::SanDns,
            template: "{terminal}".into(),
        });
        config.concentrators = vec![
            ConcentratorConfig {
                name: "a".into(),
                networks: vec!["10.0.0.1".into()],
                certificate_name: None,
                terminals: vec![],
                merchants: vec![],
            },
            hub(&[], Some("hub")),
            hub(&[], Some("hub")),
        ];
        let networks = BTreeMap::from([("M1".to_string(), vec!["10.0.0.0/33".to_string()])]);
        let problems = IdentityPolicy::new(&config, &networks)
            .unwrap_err()
            .problems;
        let text = problems.join("\n");
        for expected in [
            "tls.client_identity.template",
            "concentrators[0].networks[0]",
            "concentrators[0].certificate_name: required",
            "concentrators[0].terminals",
            "concentrators[2].name: duplicate",
            "merchant M1: allowed_networks[0]",
        ] {
            assert!(text.contains(expected), "{expected} missing in:\n{text}");
        }
        assert_eq!(problems.len(), 6, "{text}");

        let plain = ServerConfig {
            concentrators: vec![hub(&[], Some("hub")), hub(&[], None)],
            ..ServerConfig::default()
        };
        let text = IdentityPolicy::new(&plain, &BTreeMap::new())
            .unwrap_err()
            .problems
            .join("\n");
        assert!(
            text.contains("concentrators[0].certificate_name: only with mutual TLS"),
            "{text}"
        );
        assert!(
            text.contains("concentrators[1].networks: at least one"),
            "{text}"
        );
    }

    #[test]
    fn the_description_names_the_mode() {
        let plain = policy(&ServerConfig::default(), &[("M1", &["10.0.0.0/8"])]);
        assert!(
            plain.describe().contains("no certificate binding"),
            "{plain:?}"
        );
        assert!(plain.describe().contains("1 merchant(s)"), "{plain:?}");
        let tls = policy(&mtls(ClientIdentity::default()), &[]);
        assert!(
            tls.describe()
                .contains("san-dns must be \"{terminal}.{merchant}\""),
            "{tls:?}"
        );
    }
}
