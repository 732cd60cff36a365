//! Turns configuration and translations into the pages' HTML, through
//! askama templates under `templates/` that are checked at compile time.

use askama::Template;
use fluent_bundle::FluentArgs;

use crate::config::Origin;

use super::assets::Assets;
use super::config::PagesConfig;
use super::i18n::{I18nError, Translations};
use super::locale::Locale;

/// A page that could not be rendered: a defect in a template or a `.ftl` file.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Text(#[from] I18nError),
    #[error("a template failed to render: {0}")]
    Template(#[from] askama::Error),
}

/// What one render needs; borrowed from the site being built.
pub struct Context<'a> {
    pub config: &'a PagesConfig,
    pub public_origin: Option<&'a Origin>,
    pub assets: &'a Assets,
    pub texts: &'a Translations,
}

/// The parts of `<head>` and the header bar that every page shares.
struct Head {
    lang: &'static str,
    theme: &'static str,
    brand_style: Option<String>,
    title: String,
    description: String,
    og_locale: &'static str,
    canonical: Option<String>,
    alternates: Vec<Alternate>,
    icon_href: String,
    css_href: String,
    js_href: Option<String>,
    switch_label: String,
    switch: Alternate,
    noindex: bool,
}

/// A link to the same page in another language.
struct Alternate {
    hreflang: &'static str,
    href: String,
    label: String,
}

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage {
    head: Head,
    heading: String,
    intro: String,
    length_label: String,
    length: String,
    embed: Option<Embed>,
    not_configured_title: String,
    not_configured_text: String,
}

/// The embed's settings, written into `data-*` attributes for `bookme.js`.
struct Embed {
    origin: String,
    link: String,
    layout: &'static str,
    theme: &'static str,
    brand: Option<String>,
    region_label: String,
    fallback_text: String,
    fallback_link: String,
    fallback_href: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    head: Head,
    heading: String,
    text: String,
    home_href: &'static str,
    home_link: String,
}

impl Context<'_> {
    /// The booking page in one language: the embed, or the notice that
    /// booking is not configured when this locale has no link.
    pub fn booking(&self, locale: Locale) -> Result<String, RenderError> {
        let t = |id: &str| self.owner_text(locale, id);
        let embed = self.embed(locale)?;
        let mut head = self.head(locale, t("booking-title")?, t("meta-description")?)?;
        head.canonical = self.public_origin.map(|o| o.join(locale.booking_path()));
        head.alternates = self.alternates()?;
        head.js_href = embed.as_ref().map(|_| self.assets.js().to_owned());
        let page = BookingPage {
            heading: head.title.clone(),
            head,
            intro: t("booking-intro")?,
            length_label: self.text(locale, "meeting-length-label")?,
            length: self.texts.minutes(locale, self.config.meeting_minutes)?,
            embed,
            not_configured_title: self.text(locale, "not-configured-title")?,
            not_configured_text: self.text(locale, "not-configured-text")?,
        };
        Ok(page.render()?)
    }

    /// The 404 page in one language. It is the same for every missing path,
    /// so it has no canonical URL and asks not to be indexed.
    pub fn not_found(&self, locale: Locale) -> Result<String, RenderError> {
        let title = self.text(locale, "not-found-title")?;
        let mut head = self.head(locale, title.clone(), self.text(locale, "not-found-text")?)?;
        head.noindex = true;
        let page = NotFoundPage {
            head,
            heading: title,
            text: self.text(locale, "not-found-text")?,
            home_href: locale.booking_path(),
            home_link: self.text(locale, "not-found-link")?,
        };
        Ok(page.render()?)
    }

    fn embed(&self, locale: Locale) -> Result<Option<Embed>, RenderError> {
        let Some(link) = self.config.link_for(locale) else {
            return Ok(None);
        };
        let origin = &self.config.cal_origin;
        Ok(Some(Embed {
            origin: origin.as_str().to_owned(),
            link: link.as_str().to_owned(),
            layout: self.config.layout.as_str(),
            theme: self.config.theme.as_str(),
            brand: self
                .config
                .brand_color
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            region_label: self.text(locale, "embed-region-label")?,
            fallback_text: self.text(locale, "fallback-text")?,
            fallback_link: self.text(locale, "fallback-link")?,
            fallback_href: origin.join(&format!("/{}", link.as_str())),
        }))
    }

    fn head(&self, locale: Locale, title: String, description: String) -> Result<Head, I18nError> {
        let other = locale.other();
        Ok(Head {
            lang: locale.as_str(),
            theme: self.config.theme.as_str(),
            brand_style: self
                .config
                .brand_color
                .as_ref()
                .map(|c| format!("--brand:{};--brand-text:{}", c.as_str(), c.text_color())),
            title,
            description,
            og_locale: match locale {
                Locale::En => "en_US",
                Locale::Ru => "ru_RU",
            },
            canonical: None,
            alternates: Vec::new(),
            icon_href: self.assets.icon().to_owned(),
            css_href: self.assets.css().to_owned(),
            js_href: None,
            switch_label: self.text(locale, "language-switch-label")?,
            switch: Alternate {
                hreflang: other.as_str(),
                href: other.booking_path().to_owned(),
                label: self.text(other, "language-name")?,
            },
            noindex: false,
        })
    }

    /// `hreflang` links for both booking pages and `x-default` for the
    /// redirecting root; absolute when the public origin is known.
    fn alternates(&self) -> Result<Vec<Alternate>, I18nError> {
        let url = |path: &str| match self.public_origin {
            Some(origin) => origin.join(path),
            None => path.to_owned(),
        };
        let mut links = Vec::new();
        for locale in Locale::ALL {
            links.push(Alternate {
                hreflang: locale.as_str(),
                href: url(locale.booking_path()),
                label: self.text(locale, "language-name")?,
            });
        }
        links.push(Alternate {
            hreflang: "x-default",
            href: url("/"),
            label: String::new(),
        });
        Ok(links)
    }

    fn text(&self, locale: Locale, id: &str) -> Result<String, I18nError> {
        self.texts.text(locale, id, None)
    }

    /// A message with the owner's name when one is configured: the
    /// `<id>-with-owner` variant gets it as `$owner`.
    fn owner_text(&self, locale: Locale, id: &str) -> Result<String, I18nError> {
        match self.config.owner_name.as_deref() {
            None => self.text(locale, id),
            Some(owner) => {
                let mut args = FluentArgs::new();
                args.set("owner", owner);
                self.texts
                    .text(locale, &format!("{id}-with-owner"), Some(&args))
            }
        }
    }
}
