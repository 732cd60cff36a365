//! `bookme purge`: retention and erasure requests. Deletes deliveries and
//! the personal data in the ledger; keeps the bookings' other fields.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;

use crate::store::{Purge, PurgeCount, Store};

/// Counts what would go, asks unless `yes`, then purges.
pub async fn run(store: &Store, which: Purge, yes: bool) -> anyhow::Result<()> {
    let count = store.purge(&which, true).await?;
    if count == PurgeCount::default() {
        println!("nothing to purge");
        return Ok(());
    }
    let question = format!(
        "delete {} deliveries and the personal data of {} bookings?",
        count.deliveries, count.bookings
    );
    if !yes && !confirm(&question)? {
        bail!("not purged; pass --yes to skip this question");
    }
    let done = store.purge(&which, false).await?;
    println!(
        "purged {} deliveries and the personal data of {} bookings",
        done.deliveries, done.bookings
    );
    Ok(())
}

/// Asks on the terminal; without one there is nobody to answer, so no.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        eprintln!("{question} (no terminal to ask on)");
        return Ok(false);
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
