//! Test access to the Cal.com samples and cases copied into
//! `tests/fixtures`, byte for byte from the team's shared material.

use std::path::PathBuf;

use serde_json::Value;

fn dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

/// Every file in a fixture directory, sorted by name, with its bytes.
fn files(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir(kind))
        .expect("fixture directory exists")
        .map(|entry| {
            let path = entry.expect("readable entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("readable fixture"))
        })
        .collect();
    out.sort();
    out
}

/// Every sample envelope (pretty-printed, parsed as is).
pub(crate) fn samples() -> Vec<(String, Vec<u8>)> {
    files("samples")
}

/// One sample by trigger name, e.g. `BOOKING_CREATED`.
pub(crate) fn sample(trigger: &str) -> Vec<u8> {
    std::fs::read(dir("samples").join(format!("{trigger}.json"))).expect("sample exists")
}

/// Every case's `raw` request body, by file name.
pub(crate) fn cases() -> Vec<(String, Vec<u8>)> {
    files("cases")
        .into_iter()
        .map(|(name, bytes)| {
            let case: Value = serde_json::from_slice(&bytes).expect("case is JSON");
            let raw = case["raw"]
                .as_str()
                .expect("case has raw")
                .as_bytes()
                .to_vec();
            (name, raw)
        })
        .collect()
}

/// One case's `raw` body by its id, e.g. `R09`.
pub(crate) fn case(id: &str) -> Vec<u8> {
    cases()
        .into_iter()
        .find(|(name, _)| name.starts_with(&format!("{id}-")))
        .map(|(_, raw)| raw)
        .unwrap_or_else(|| panic!("no case {id}"))
}
