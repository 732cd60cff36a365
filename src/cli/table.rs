//! Output helpers shared by the tools: aligned tables, key-value blocks,
//! JSON documents and the one time format they all use.

use std::fmt::Write as _;
use std::io::Write as _;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// What an empty cell shows.
pub const NONE: &str = "-";

/// A table printed with each column as wide as its widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, header first. Widths count
    /// characters, not bytes, so Cyrillic names line up too.
    pub fn render(&self) -> String {
        let header: Vec<String> = self.header.iter().map(|h| h.to_uppercase()).collect();
        let widths = self.widths(&header);
        let mut out = String::new();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (cell, width) in cells.iter().zip(&widths) {
                let pad = width - cell.chars().count();
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn widths(&self, header: &[String]) -> Vec<usize> {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for cells in &self.rows {
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }
}

/// Prints `label: value` lines with the values aligned.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in fields {
        println!(
            "{key:<width$}  {value}",
            key = format!("{key}:"),
            width = width + 1
        );
    }
}

/// Prints one pretty JSON document on stdout. Non-ASCII text stays as it
/// is (serde_json does not escape it), so Cyrillic remains readable.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    Ok(())
}

/// A time as RFC 3339 in UTC, e.g. `2025-03-10T07:15:42.318Z`.
pub fn utc(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// An optional value as a cell, `-` when absent.
pub fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| NONE.to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_by_characters() {
        let mut t = Table::new(&["name", "lang"]);
        t.row(vec!["Иван Образцов".into(), "ru".into()]);
        t.row(vec!["Al".into(), "en".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME           LANG");
        assert_eq!(lines[1], "Иван Образцов  ru");
        assert_eq!(lines[2], "Al             en");
    }

    #[test]
    fn times_are_utc() {
        let t = time::macros::datetime!(2025-03-10 10:15:42 +03:00);
        assert_eq!(utc(t), "2025-03-10T07:15:42Z");
    }
}
