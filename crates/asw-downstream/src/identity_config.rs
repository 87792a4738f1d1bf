//! The settings behind terminal identity: how a client certificate names its terminal
//! (`[downstream.tls] client_identity`) and the concentrators (`[[downstream.concentrators]]`).
//! Plain data with serde names; [`crate::IdentityPolicy::new`] checks and compiles them.

use serde::{Deserialize, Serialize};

/// Which names of the verified client certificate are compared with the claimed terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    /// The subject's common names (CN).
    SubjectCn,
    /// The subjectAltName `dNSName` entries (the default: where current PKI puts names).
    #[default]
    SanDns,
    /// The subjectAltName `uniformResourceIdentifier` entries (e.g. `urn:…`, `spiffe://…`).
    SanUri,
}

impl NameSource {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::SubjectCn => "subject-cn",
            NameSource::SanDns => "san-dns",
            NameSource::SanUri => "san-uri",
        }
    }
}

/// The template of the default mapping: one certificate per terminal, named after the
/// terminal and its merchant, e.g. `T0000001.M00000000000001`.
pub const DEFAULT_TEMPLATE: &str = "{terminal}.{merchant}";

/// `[downstream.tls] client_identity`: how the certificate of a mutual-TLS terminal names the
/// terminal it may speak for. Enforced whenever `client_ca_file` is set; there is no switch to
/// turn it off, since a CA-signed certificate alone says nothing about which terminal it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientIdentity {
    /// Where in the certificate the name is read.
    pub from: NameSource,
    /// The expected name, with `{merchant}` (F42) and `{terminal}` (F41, optional) filled in
    /// from the message, trailing spaces removed. `{merchant}` is required: terminal ids are
    /// only unique within a merchant. Without `{terminal}` the certificate names a merchant
    /// and may speak for any one of its terminals per connection.
    pub template: String,
}

impl Default for ClientIdentity {
    fn default() -> Self {
        ClientIdentity {
            from: NameSource::default(),
            template: DEFAULT_TEMPLATE.to_string(),
        }
    }
}

/// One terminal a concentrator carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedTerminal {
    /// F42 merchant id.
    pub merchant: String,
    /// F41 terminal id.
    pub terminal: String,
}

/// `[[downstream.concentrators]]`: a host that speaks for many terminals on one connection
/// (an ECR hub, a store server). A connection is the concentrator's when it comes from one of
/// `networks` (when given) and, on a mutual-TLS listener, its certificate carries
/// `certificate_name` (required there). It may speak for exactly `terminals` and every
/// terminal of `merchants`, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcentratorConfig {
    /// A name for logs and `check-config`.
    pub name: String,
    /// Source networks (CIDR, `10.1.2.3/32` for one host) the concentrator connects from.
    #[serde(default)]
    pub networks: Vec<String>,
    /// The name its client certificate carries (read from the same place as
    /// `client_identity.from`); only with mutual TLS.
    #[serde(default)]
    pub certificate_name: Option<String>,
    /// Terminals it carries.
    #[serde(default)]
    pub terminals: Vec<CarriedTerminal>,
    /// Merchants all of whose terminals it carries.
    #[serde(default)]
    pub merchants: Vec<String>,
}

/// A parsed `client_identity.template`: literal text and the two placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Merchant,
    Terminal,
}

impl Template {
    /// Splits the template once, so a claimed id that itself contains `{terminal}` is never
    /// expanded again (the ids come from the terminal, the template from the operator).
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                let literal = &rest[..open];
                if literal.contains('}') {
                    return Err("a '}' without its '{'".to_string());
                }
                parts.push(Part::Literal(literal.to_string()));
            }
            let after = &rest[open..];
            let (part, len) = if after.starts_with("{merchant}") {
                (Part::Merchant, "{merchant}".len())
            } else if after.starts_with("{terminal}") {
                (Part::Terminal, "{terminal}".len())
            } else {
                return Err(format!(
                    "unknown placeholder at \"{after}\" (only {{merchant}} and {{terminal}})"
                ));
            };
            parts.push(part);
            rest = &after[len..];
        }
        if rest.contains('}') {
            return Err("a '}' without its '{'".to_string());
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        if !parts.contains(&Part::Merchant) {
            return Err(
                "must contain {merchant}: terminal ids are only unique within a merchant"
                    .to_string(),
            );
        }
        Ok(Template { parts })
    }

    /// Whether the template names a single terminal (has `{terminal}`).
    pub(crate) fn names_terminal(&self) -> bool {
        self.parts.contains(&Part::Terminal)
    }

    /// The name a certificate must carry to speak for `merchant`/`terminal`.
    pub(crate) fn render(&self, merchant: &str, terminal: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Merchant => out.push_str(merchant),
                Part::Terminal => out.push_str(terminal),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_once_and_need_the_merchant() {
        let t = Template::parse(DEFAULT_TEMPLATE).unwrap();
        assert!(t.names_terminal());
        assert_eq!(t.render("M1", "T1"), "T1.M1");
        // A claimed id holding a placeholder is inserted as text, not expanded again.
        assert_eq!(t.render("{terminal}", "T1"), "T1.{terminal}");
        let uri = Template::parse("urn:pos:{merchant}:{terminal}").unwrap();
        assert_eq!(uri.render("M1", "T1"), "urn:pos:M1:T1");
        let merchant_only = Template::parse("store-{merchant}").unwrap();
        assert!(!merchant_only.names_terminal());
        assert!(Template::parse("{terminal}").is_err());
        assert!(Template::parse("{merchant}.{tid}").is_err());
        assert!(Template::parse("{merchant}}").is_err());
        assert!(Template::parse("a}{merchant}").is_err());
    }

    #[test]
    fn defaults_and_serde_names() {
        let d = ClientIdentity::default();
        assert_eq!(d.from, NameSource::SanDns);
        assert_eq!(d.template, DEFAULT_TEMPLATE);
        let c: ClientIdentity =
            serde_json::from_str(r#"{"from": "subject-cn", "template": "{merchant}"}"#).unwrap();
        assert_eq!(c.from, NameSource::SubjectCn);
        assert!(serde_json::from_str::<ClientIdentity>(r#"{"form": "san-dns"}"#).is_err());
    }
}
