//! Every parser a delivery meets, on arbitrary bytes: the ingest peek, the
//! worker's event and booking parse, and applying the result to a ledger.
#![no_main]

use bookme::calcom::booking::BookingEvent;
use bookme::calcom::{Event, Shape};
use bookme::ledger::Ledger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Shape::of(data);
    if let Ok(event) = Event::parse(data) {
        let booking = BookingEvent::from_event(&event);
        let mut ledger = Ledger::default();
        ledger.apply(&booking, "d1");
        let once = ledger.clone();
        ledger.apply(&booking, "d1");
        assert_eq!(ledger, once, "applying a delivery twice changed the ledger");
    }
});
