//! The two languages of the site, and how a request picks one.

use axum::http::{HeaderMap, header};

/// A language the site is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    Ru,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ru];

    /// The BCP 47 tag, which is also the path prefix: `en` in `/en/bookme`.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    /// The other language, for the switcher.
    pub fn other(self) -> Locale {
        match self {
            Locale::En => Locale::Ru,
            Locale::Ru => Locale::En,
        }
    }

    /// The booking page in this language.
    pub fn booking_path(self) -> &'static str {
        match self {
            Locale::En => "/en/bookme",
            Locale::Ru => "/ru/bookme",
        }
    }

    /// An index for per-locale arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The locale named by a path's first segment, as in `/ru/anything`.
    pub fn from_path(path: &str) -> Option<Locale> {
        let first = path.trim_start_matches('/').split('/').next()?;
        Self::from_tag(first)
    }

    /// Matches a language tag by its primary subtag: `ru-RU` is Russian.
    fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Locale::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }

    /// The language the browser ranks highest among ours (RFC 9110 quality
    /// values, earlier wins a tie); English when it names neither.
    pub fn negotiate(headers: &HeaderMap) -> Locale {
        let mut best: Option<(Locale, f32)> = None;
        let ranges = headers
            .get_all(header::ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        for range in ranges {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts.find_map(parse_quality).unwrap_or(1.0);
            let Some(locale) = Self::from_tag(tag) else {
                continue;
            };
            if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((locale, quality));
            }
        }
        best.map_or(Locale::En, |(locale, _)| locale)
    }
}

/// Reads `q=0.8` from one parameter of a header element.
pub(crate) fn parse_quality(param: &str) -> Option<f32> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    value
        .trim()
        .parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn negotiate(accept: &str) -> Locale {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(accept).unwrap(),
        );
        Locale::negotiate(&headers)
    }

    #[test]
    fn russian_browsers_get_russian() {
        assert_eq!(negotiate("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Locale::Ru);
        assert_eq!(negotiate("de-DE, ru;q=0.5"), Locale::Ru);
        assert_eq!(negotiate("RU"), Locale::Ru);
    }

    #[test]
    fn everyone_else_gets_english() {
        assert_eq!(negotiate("en-US,en;q=0.9"), Locale::En);
        assert_eq!(negotiate("de-DE,fr;q=0.8"), Locale::En);
        assert_eq!(negotiate("en;q=0.9, ru;q=0.4"), Locale::En);
        assert_eq!(negotiate("ru;q=0, de"), Locale::En);
        assert_eq!(negotiate("*"), Locale::En);
        assert_eq!(Locale::negotiate(&HeaderMap::new()), Locale::En);
    }

    #[test]
    fn quality_breaks_order() {
        assert_eq!(negotiate("en;q=0.3, ru;q=0.7"), Locale::Ru);
        assert_eq!(negotiate("en, ru"), Locale::En);
    }

    #[test]
    fn paths_name_their_locale() {
        assert_eq!(Locale::from_path("/ru/bookme"), Some(Locale::Ru));
        assert_eq!(Locale::from_path("/en/nothing/here"), Some(Locale::En));
        assert_eq!(Locale::from_path("/api/cal/webhook"), None);
        assert_eq!(Locale::from_path("/"), None);
    }
}
