//! Start-up inspection of the server: is it configured so that an acknowledged write survives a
//! crash, and does it support the configured durability mode?

use asw_core::ports::StoreError;
use serde::Serialize;

use crate::config::Durability;
use crate::store::{ConnectError, RedisStore};

/// One server setting that does not match what durable payments need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The `CONFIG` parameter (or `config` when it could not be read).
    pub setting: &'static str,
    /// What the server has.
    pub found: String,
    /// What it should have.
    pub expected: &'static str,
    /// Why it matters.
    pub why: &'static str,
}

/// What the inspection learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReport {
    /// `redis_version` from `INFO server`, when readable.
    pub version: Option<(u32, u32, u32)>,
    /// The raw version text.
    pub version_text: String,
    /// Settings to fix.
    pub findings: Vec<Finding>,
}

/// Reads `INFO server` and the persistence settings.
pub async fn inspect(store: &RedisStore) -> Result<ServerReport, StoreError> {
    let infos = store
        .query_every_master("info", {
            let mut cmd = redis::cmd("INFO");
            cmd.arg("server");
            cmd
        })
        .await?;
    // On a cluster the oldest master decides what the deployment supports.
    let (version, version_text) = infos
        .iter()
        .map(|(_, info)| {
            let info = crate::values::text(info).unwrap_or_default();
            let text = info
                .lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("unknown")
                .trim()
                .to_string();
            (parse_version(&text), text)
        })
        .min()
        .unwrap_or((None, "unknown".to_string()));
    let mut findings = Vec::new();
    let durability = store.config().durability.clone();
    let expect =
        |setting: &'static str, expected: &'static str, why: &'static str| (setting, expected, why);
    let mut checks = vec![
        expect(
            "appendonly",
            "yes",
            "without the AOF a crash loses journaled transactions and queued cancels",
        ),
        expect(
            "maxmemory-policy",
            "noeviction",
            "an evicting policy can silently drop records, tombstones and SAF entries",
        ),
    ];
    if durability == Durability::AofAlways {
        checks.push(expect(
            "appendfsync",
            "always",
            "durability mode aof-always acknowledges writes before they are fsynced otherwise",
        ));
    }
    for (setting, expected, why) in checks {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(setting);
        match store.query_every_master("config_get", cmd).await {
            Ok(replies) => {
                for (node, reply) in replies {
                    let found = config_value(&reply);
                    if !found.eq_ignore_ascii_case(expected) {
                        findings.push(Finding {
                            setting,
                            found: if node.is_empty() {
                                found
                            } else {
                                format!("{found} on {node}")
                            },
                            expected,
                            why,
                        });
                    }
                }
            }
            Err(StoreError::Unavailable(e)) if !e.contains("timed out") => {
                findings.push(Finding {
                    setting,
                    found: "unreadable (CONFIG GET refused)".to_string(),
                    expected,
                    why,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ServerReport {
        version,
        version_text,
        findings,
    })
}

/// The value of a `CONFIG GET <one setting>` reply (a flat list under RESP2, a map under RESP3).
fn config_value(reply: &redis::Value) -> String {
    crate::values::list(reply)
        .get(1)
        .and_then(crate::values::text)
        .or_else(|| match reply {
            redis::Value::Map(pairs) => pairs.first().and_then(|(_, v)| crate::values::text(v)),
            _ => None,
        })
        .unwrap_or_default()
}

/// Refuses a durability mode the server cannot honour.
pub fn require_durability_support(
    durability: &Durability,
    report: &ServerReport,
) -> Result<(), ConnectError> {
    if *durability == Durability::Waitaof && report.version.is_none_or(|v| v < (7, 2, 0)) {
        return Err(ConnectError::UnsupportedDurability {
            mode: "waitaof",
            needs: "7.2",
            found: report.version_text.clone(),
        });
    }
    Ok(())
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_waitaof_needs_7_2() {
        assert_eq!(parse_version("7.0.15"), Some((7, 0, 15)));
        assert_eq!(parse_version("7.2"), Some((7, 2, 0)));
        assert_eq!(parse_version("x"), None);
        let old = ServerReport {
            version: Some((7, 0, 15)),
            version_text: "7.0.15".into(),
            findings: vec![],
        };
        assert!(require_durability_support(&Durability::Waitaof, &old).is_err());
        assert!(require_durability_support(&Durability::AofAlways, &old).is_ok());
        let new = ServerReport {
            version: Some((7, 2, 4)),
            ..old
        };
        assert!(require_durability_support(&Durability::Waitaof, &new).is_ok());
    }
}
