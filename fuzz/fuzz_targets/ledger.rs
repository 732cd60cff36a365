//! Ledger application on arbitrary event sequences: the input is split into
//! bodies at 0xFF bytes; the bodies that parse are applied in order and in
//! reverse, and both ledgers must be equal.
#![no_main]

use bookme::calcom::booking::BookingEvent;
use bookme::ledger::Ledger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let events: Vec<(BookingEvent, String)> = data
        .split(|b| *b == 0xFF)
        .enumerate()
        .filter_map(|(i, body)| BookingEvent::parse(body).ok().map(|e| (e, format!("d{i}"))))
        .collect();
    let (mut forward, mut backward) = (Ledger::default(), Ledger::default());
    for (event, id) in &events {
        forward.apply(event, id);
    }
    for (event, id) in events.iter().rev() {
        backward.apply(event, id);
    }
    assert_eq!(forward, backward, "the order of deliveries changed the ledger");
});
