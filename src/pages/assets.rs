//! Static files embedded in the binary and served under fingerprinted
//! names such as `/assets/bookme-1a2b3c4d5e6f7a8b.css`, so that browsers may
//! keep them for a year: a changed file gets a new name.

use std::collections::HashMap;

use super::encoded::Encoded;

/// The URL prefix of every static file.
pub const PREFIX: &str = "/assets/";

/// One embedded file: a stem, an extension, its media type and bytes.
struct Source {
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const SOURCES: [Source; 3] = [
    Source {
        stem: "bookme",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/bookme.css"),
    },
    Source {
        stem: "bookme",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/bookme.js"),
    },
    Source {
        stem: "favicon",
        ext: "svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/favicon.svg"),
    },
];

/// The embedded files, compressed and fingerprinted once at start.
pub struct Assets {
    by_name: HashMap<String, Encoded>,
    hrefs: HashMap<&'static str, String>,
}

impl Assets {
    pub fn load() -> Self {
        let mut by_name = HashMap::new();
        let mut hrefs = HashMap::new();
        for source in &SOURCES {
            let encoded = Encoded::new(source.content_type, source.bytes);
            let name = format!("{}-{}.{}", source.stem, encoded.hash(), source.ext);
            hrefs.insert(source.ext, format!("{PREFIX}{name}"));
            by_name.insert(name, encoded);
        }
        Self { by_name, hrefs }
    }

    /// The file served under `/assets/<name>`, if any.
    pub fn get(&self, name: &str) -> Option<&Encoded> {
        self.by_name.get(name)
    }

    /// The fingerprinted URL of the stylesheet.
    pub fn css(&self) -> &str {
        &self.hrefs["css"]
    }

    /// The fingerprinted URL of the embed bootstrap script.
    pub fn js(&self) -> &str {
        &self.hrefs["js"]
    }

    /// The fingerprinted URL of the icon.
    pub fn icon(&self) -> &str {
        &self.hrefs["svg"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let assets = Assets::load();
        let css = assets.css().strip_prefix(PREFIX).unwrap();
        assert!(css.starts_with("bookme-") && css.ends_with(".css"), "{css}");
        let served = assets.get(css).unwrap();
        assert!(css.contains(served.hash()));
        assert!(assets.get("bookme.css").is_none());
    }
}
