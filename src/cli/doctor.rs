//! `bookme doctor`: checks the configuration and the store, one ✓/✗ line
//! each. It changes nothing and never prints a secret.

use crate::config::{Config, Mode};
use crate::store::Store;

/// Secrets shorter than this are easy to guess.
const MIN_SECRET_LEN: usize = 16;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub line: String,
}

impl Check {
    fn pass(line: impl Into<String>) -> Self {
        Self {
            ok: true,
            line: line.into(),
        }
    }

    fn fail(line: impl Into<String>) -> Self {
        Self {
            ok: false,
            line: line.into(),
        }
    }
}

/// Runs every check and prints them. Returns whether all passed.
pub async fn run(config: &Config, offline: bool) -> bool {
    let mut checks = config_checks(config);
    checks.push(store_check(config).await);
    if offline {
        println!("- notification destinations not checked (--offline)");
    } else {
        checks.extend(destination_checks(config).await);
    }
    for c in &checks {
        println!("{} {}", if c.ok { "✓" } else { "✗" }, c.line);
    }
    checks.iter().all(|c| c.ok)
}

/// The checks that need no network.
pub fn config_checks(config: &Config) -> Vec<Check> {
    vec![
        secret_check(config),
        link_check(config),
        origin_check(config),
        hosts_check(config),
    ]
}

fn secret_check(config: &Config) -> Check {
    let n = config.secrets.len();
    if n == 0 {
        return Check::fail("CAL_WEBHOOK_SECRET is not set: deliveries get 500 until it is");
    }
    let short = config
        .secrets
        .keys()
        .filter(|k| k.len() < MIN_SECRET_LEN)
        .count();
    if short > 0 {
        return Check::fail(format!(
            "CAL_WEBHOOK_SECRET: {short} of {n} secrets are shorter than {MIN_SECRET_LEN} characters"
        ));
    }
    Check::pass(format!(
        "CAL_WEBHOOK_SECRET is set ({n} secret(s), {MIN_SECRET_LEN}+ characters)"
    ))
}

async fn store_check(config: &Config) -> Check {
    let kind = config.database.kind();
    match Store::check(&config.database).await {
        Ok(()) => Check::pass(format!(
            "the {kind} store answers and its migrations are current"
        )),
        Err(reason) if reason.starts_with("migrations pending") => {
            Check::fail(format!("the {kind} store: {reason}; run `bookme migrate`"))
        }
        Err(_) => Check::fail(format!(
            "the {kind} store is unreachable: check DATABASE_URL"
        )),
    }
}

/// One line per configured destination: does it answer?
async fn destination_checks(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    for dest in &config.notify.destinations {
        let what = format!("{} destination {:?}", dest.kind.as_str(), dest.name);
        checks.push(match crate::notify::reach::probe(dest).await {
            Ok(()) => Check::pass(format!("{what} answers")),
            Err(why) => Check::fail(format!("{what} is unreachable: {why}")),
        });
    }
    if checks.is_empty() {
        checks.push(Check::pass("no notification destinations are configured"));
    }
    checks
}

fn link_check(config: &Config) -> Check {
    match &config.pages.cal_link {
        Some(link) => Check::pass(format!("CAL_LINK is set ({})", link.as_str())),
        None => Check::fail("CAL_LINK is not set: the booking pages say booking is not set up"),
    }
}

fn origin_check(config: &Config) -> Check {
    match (&config.tunnel_origin, config.mode) {
        (Some(o), Mode::Production) if !o.is_https() => Check::fail(format!(
            "CAL_TUNNEL_ORIGIN {o} is not https in production: Cal.com and browsers need https"
        )),
        (Some(o), _) => Check::pass(format!("public origin {o}")),
        (None, Mode::Production) => Check::fail(
            "CAL_TUNNEL_ORIGIN is not set in production: set it to the site's public https origin",
        ),
        (None, Mode::Development) => Check::pass("no public origin (development)"),
    }
}

fn hosts_check(config: &Config) -> Check {
    let hosts = &config.allowed_hosts;
    if hosts.is_empty() {
        return Check::pass("BOOKME_ALLOWED_HOSTS is not set: any Host is served");
    }
    if let Some(bad) = hosts.iter().find(|h| h.contains("://") || h.contains('/')) {
        return Check::fail(format!(
            "BOOKME_ALLOWED_HOSTS entry {bad:?} is a URL: list bare host names"
        ));
    }
    let tunnel = config.tunnel_origin.as_ref().map(|o| o.host().to_owned());
    match tunnel {
        Some(t)
            if !hosts
                .iter()
                .any(|h| h.split(':').next() == Some(t.as_str())) =>
        {
            Check::pass(format!(
                "BOOKME_ALLOWED_HOSTS: {} (and {t}, the public origin)",
                hosts.join(", ")
            ))
        }
        _ => Check::pass(format!("BOOKME_ALLOWED_HOSTS: {}", hosts.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn checks(vars: &[(&str, &str)]) -> Vec<Check> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config_checks(&Config::from_lookup(|n| map.get(n).cloned()).unwrap())
    }

    #[test]
    fn a_complete_production_setup_passes() {
        let all = checks(&[
            ("CAL_WEBHOOK_SECRET", "a-long-enough-secret-value"),
            ("CAL_LINK", "ann/30min"),
            ("CAL_TUNNEL_ORIGIN", "https://book.example.com"),
            ("BOOKME_ALLOWED_HOSTS", "book.example.com"),
        ]);
        assert!(all.iter().all(|c| c.ok), "{all:#?}");
    }

    #[test]
    fn each_problem_fails_its_check_without_echoing_secrets() {
        let all = checks(&[
            ("CAL_WEBHOOK_SECRET", "short-one"),
            ("CAL_TUNNEL_ORIGIN", "http://book.example.com"),
            ("BOOKME_ALLOWED_HOSTS", "https://book.example.com"),
        ]);
        assert_eq!(all.iter().filter(|c| !c.ok).count(), 4, "{all:#?}");
        assert!(all.iter().all(|c| !c.line.contains("short-one")));
    }

    #[test]
    fn development_needs_no_public_origin() {
        let all = checks(&[("BOOKME_MODE", "development")]);
        assert!(all.iter().any(|c| c.ok && c.line.contains("development")));
    }
}
