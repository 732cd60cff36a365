//! `bookme sign` and `bookme verify`: Cal.com's signature over stdin, for
//! checking an integration by hand.

use std::io::Read;

use anyhow::{Context, bail};
use bytes::Bytes;
use secrecy::SecretString;

use crate::calcom::Verifier;
use crate::calcom::signature::sign;
use crate::config::{Config, WebhookSecrets};

/// Prints the signature Cal.com would send for the body on stdin.
pub fn run_sign(config: &Config, secret: Option<SecretString>) -> anyhow::Result<()> {
    let secrets = secrets(config, secret)?;
    let key = secrets.keys().next().context("no secret")?;
    println!("{}", sign(key, &read_stdin()?));
    Ok(())
}

/// Checks a signature against the body on stdin. Returns whether it
/// matched; the caller turns that into the exit code.
pub fn run_verify(
    config: &Config,
    signature: &str,
    secret: Option<SecretString>,
) -> anyhow::Result<bool> {
    let verifier = Verifier::new(&secrets(config, secret)?).context("no secret")?;
    let body = Bytes::from(read_stdin()?);
    match verifier.verify(Some(signature.as_bytes()), body) {
        Ok(_) => {
            println!("valid");
            Ok(true)
        }
        Err(reason) => {
            println!("invalid: {reason}");
            Ok(false)
        }
    }
}

/// `--secret` if given, else `CAL_WEBHOOK_SECRET` from the configuration.
pub fn secrets(config: &Config, secret: Option<SecretString>) -> anyhow::Result<WebhookSecrets> {
    use secrecy::ExposeSecret;
    let secrets = match secret {
        Some(s) => WebhookSecrets::parse(s.expose_secret()),
        None => config.secrets.clone(),
    };
    if secrets.is_empty() {
        bail!("no secret: pass --secret or set CAL_WEBHOOK_SECRET");
    }
    Ok(secrets)
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .context("could not read the body from stdin")?;
    Ok(body)
}
