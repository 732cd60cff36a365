//! Translations: Fluent files under `locales/`, embedded at build time.
//!
//! Translators edit `locales/<lang>/bookme.ftl` only. Fluent picks plural
//! forms by the CLDR rules of each language, so Russian gets its one, few
//! and many forms (1 минута, 2 минуты, 5 минут) from the file.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

use super::locale::Locale;

const EN: &str = include_str!("../../locales/en/bookme.ftl");
const RU: &str = include_str!("../../locales/ru/bookme.ftl");

/// A translation that could not be produced: a defect in a `.ftl` file.
#[derive(Debug, thiserror::Error)]
/// The first field names the file, e.g. `locales/ru/bookme.ftl`.
pub enum I18nError {
    #[error("{0} does not parse: {1}")]
    Syntax(String, String),
    #[error("{0} has no message {1:?}")]
    Missing(String, String),
    #[error("{0} message {1:?} does not format: {2}")]
    Format(String, String, String),
}

/// The loaded bundles of one file name, one bundle per locale.
pub struct Translations {
    name: &'static str,
    bundles: [FluentBundle<FluentResource>; 2],
}

impl Translations {
    /// Parses the embedded page texts; any syntax error is reported, not
    /// skipped.
    pub fn load() -> Result<Self, I18nError> {
        Self::from_sources("bookme", EN, RU)
    }

    /// Parses `locales/en/<name>.ftl` and `locales/ru/<name>.ftl`, given
    /// as text; other modules (the admin dashboard) embed their own files.
    pub fn from_sources(name: &'static str, en: &str, ru: &str) -> Result<Self, I18nError> {
        Ok(Self {
            name,
            bundles: [bundle(name, Locale::En, en)?, bundle(name, Locale::Ru, ru)?],
        })
    }

    /// Whether `locale` has a message `id`.
    pub fn has(&self, locale: Locale, id: &str) -> bool {
        self.bundles[locale.index()].has_message(id)
    }

    fn file(&self, locale: Locale) -> String {
        file_name(self.name, locale)
    }

    /// One message, formatted with `args`.
    pub fn text(
        &self,
        locale: Locale,
        id: &str,
        args: Option<&FluentArgs<'_>>,
    ) -> Result<String, I18nError> {
        let bundle = &self.bundles[locale.index()];
        let missing = || I18nError::Missing(self.file(locale), id.to_owned());
        let pattern = bundle
            .get_message(id)
            .and_then(|m| m.value())
            .ok_or_else(missing)?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        match errors.first() {
            None => Ok(text.into_owned()),
            Some(e) => Err(I18nError::Format(
                self.file(locale),
                id.to_owned(),
                e.to_string(),
            )),
        }
    }

    /// The meeting length in words, with the plural form the language needs.
    pub fn minutes(&self, locale: Locale, minutes: u32) -> Result<String, I18nError> {
        let mut args = FluentArgs::new();
        args.set("minutes", minutes);
        self.text(locale, "meeting-length", Some(&args))
    }
}

fn file_name(name: &str, locale: Locale) -> String {
    format!("locales/{}/{name}.ftl", locale.as_str())
}

fn bundle(
    name: &str,
    locale: Locale,
    source: &str,
) -> Result<FluentBundle<FluentResource>, I18nError> {
    let syntax = |e: String| I18nError::Syntax(file_name(name, locale), e);
    let resource = FluentResource::try_new(source.to_owned())
        .map_err(|(_, errors)| syntax(format!("{errors:?}")))?;
    let lang: LanguageIdentifier = locale
        .as_str()
        .parse()
        .map_err(|e| syntax(format!("{e}")))?;
    // The concurrent bundle is `Sync`, so the admin dashboard can keep one
    // in its shared state and format per request.
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // Unicode isolation marks around arguments would land inside HTML
    // attributes and the page title; our arguments are plain names and numbers.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| syntax(format!("{errors:?}")))?;
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_minutes_take_the_cldr_plural_forms() {
        let t = Translations::load().unwrap();
        let ru = |n| t.minutes(Locale::Ru, n).unwrap();
        assert_eq!(ru(1), "1 минута");
        assert_eq!(ru(2), "2 минуты");
        assert_eq!(ru(5), "5 минут");
        assert_eq!(ru(11), "11 минут");
        assert_eq!(ru(21), "21 минута");
        assert_eq!(ru(22), "22 минуты");
        assert_eq!(ru(45), "45 минут");
        assert_eq!(ru(90), "90 минут");
    }

    #[test]
    fn english_minutes_take_one_and_other() {
        let t = Translations::load().unwrap();
        assert_eq!(t.minutes(Locale::En, 1).unwrap(), "1 minute");
        assert_eq!(t.minutes(Locale::En, 21).unwrap(), "21 minutes");
    }

    #[test]
    fn both_files_define_the_same_messages() {
        // Message definitions start a line with their id; everything else
        // (comments, variants, continuations) starts otherwise.
        let ids = |source: &str| -> Vec<String> {
            let mut ids: Vec<String> = source
                .lines()
                .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
                .filter_map(|l| l.split_once(" =").map(|(id, _)| id.to_owned()))
                .collect();
            ids.sort();
            ids
        };
        let t = Translations::load().unwrap();
        for id in ids(EN) {
            for locale in Locale::ALL {
                assert!(
                    t.bundles[locale.index()].has_message(&id),
                    "{id} in {locale:?}"
                );
            }
        }
        assert_eq!(ids(EN), ids(RU));
    }
}
