//! The booking pages' settings, read from the same environment as the rest
//! of [`crate::config::Config`]. Each bad value names its variable.

use crate::config::{ConfigError, Origin};

use super::locale::Locale;

/// Cal.com's hosted instance, used when `CAL_ORIGIN` is unset.
pub const DEFAULT_CAL_ORIGIN: &str = "https://app.cal.com";

/// The meeting length shown on the page when `BOOKME_MEETING_MINUTES` is unset.
pub const DEFAULT_MEETING_MINUTES: u32 = 30;

/// Everything the booking pages need, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagesConfig {
    pub owner_name: Option<String>,
    pub cal_origin: Origin,
    pub cal_link: Option<CalLink>,
    pub cal_link_en: Option<CalLink>,
    pub cal_link_ru: Option<CalLink>,
    pub layout: CalLayout,
    pub theme: CalTheme,
    pub brand_color: Option<BrandColor>,
    pub meeting_minutes: u32,
}

impl PagesConfig {
    /// The event to embed on one locale's page: its override, else `CAL_LINK`.
    pub fn link_for(&self, locale: Locale) -> Option<&CalLink> {
        let specific = match locale {
            Locale::En => self.cal_link_en.as_ref(),
            Locale::Ru => self.cal_link_ru.as_ref(),
        };
        specific.or(self.cal_link.as_ref())
    }
}

/// Parses the page settings with the lookup that `Config::from_lookup` uses.
pub fn parse(var: &impl Fn(&str) -> Option<String>) -> Result<PagesConfig, ConfigError> {
    Ok(PagesConfig {
        owner_name: var("BOOKME_OWNER_NAME").map(|v| v.trim().to_owned()),
        cal_origin: parse_cal_origin(var("CAL_ORIGIN"))?,
        cal_link: parse_link("CAL_LINK", var("CAL_LINK"))?,
        cal_link_en: parse_link("CAL_LINK_EN", var("CAL_LINK_EN"))?,
        cal_link_ru: parse_link("CAL_LINK_RU", var("CAL_LINK_RU"))?,
        layout: parse_choice("BOOKME_CAL_LAYOUT", var("BOOKME_CAL_LAYOUT"))?,
        theme: parse_choice("BOOKME_CAL_THEME", var("BOOKME_CAL_THEME"))?,
        brand_color: var("BOOKME_BRAND_COLOR")
            .map(|v| BrandColor::parse(&v))
            .transpose()
            .map_err(|e| ConfigError::new("BOOKME_BRAND_COLOR", e))?,
        meeting_minutes: parse_minutes(var("BOOKME_MEETING_MINUTES"))?,
    })
}

/// A Cal.com booking link such as `ann-example/30min`, relative to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalLink(String);

impl CalLink {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let link = raw.trim().trim_matches('/');
        if link.contains("://") {
            return Err(format!(
                "a link such as ann-example/30min, without the origin, got {raw:?}"
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./?=&%+".contains(c);
        if link.is_empty() || !link.chars().all(allowed) {
            return Err(format!("a link such as ann-example/30min, got {raw:?}"));
        }
        Ok(Self(link.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The embed's calendar layout, named as Cal.com names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CalLayout {
    #[default]
    Month,
    Week,
    Column,
}

/// The embed's colour scheme; the page follows the same choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CalTheme {
    Light,
    Dark,
    #[default]
    Auto,
}

/// A value chosen from a fixed list of names.
trait Choice: Sized + Default + Copy + 'static {
    const NAMES: &'static [(&'static str, Self)];

    fn as_str(self) -> &'static str;
}

impl Choice for CalLayout {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("month_view", Self::Month),
        ("week_view", Self::Week),
        ("column_view", Self::Column),
    ];

    fn as_str(self) -> &'static str {
        name_of(self)
    }
}

impl Choice for CalTheme {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("light", Self::Light),
        ("dark", Self::Dark),
        ("auto", Self::Auto),
    ];

    fn as_str(self) -> &'static str {
        name_of(self)
    }
}

impl CalLayout {
    pub fn as_str(self) -> &'static str {
        Choice::as_str(self)
    }
}

impl CalTheme {
    pub fn as_str(self) -> &'static str {
        Choice::as_str(self)
    }
}

fn name_of<T: Choice + PartialEq>(value: T) -> &'static str {
    T::NAMES
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("", |(name, _)| name)
}

/// A CSS hex colour (`#rgb` or `#rrggbb`), with the text colour that reads on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandColor {
    hex: String,
    rgb: [u8; 3],
}

impl BrandColor {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || format!("a hex colour such as #1f4fd1, got {raw:?}");
        let digits = raw.trim().strip_prefix('#').ok_or_else(expected)?;
        let full: String = match digits.len() {
            3 => digits.chars().flat_map(|c| [c, c]).collect(),
            6 => digits.to_owned(),
            _ => return Err(expected()),
        };
        let bytes = hex::decode(&full).map_err(|_| expected())?;
        let rgb = [bytes[0], bytes[1], bytes[2]];
        Ok(Self {
            hex: format!("#{}", full.to_ascii_lowercase()),
            rgb,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.hex
    }

    /// White or near-black, whichever contrasts more with the colour (WCAG
    /// relative luminance), so that any brand colour keeps buttons readable.
    pub fn text_color(&self) -> &'static str {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.rgb.map(channel);
        let luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let against_white = 1.05 / (luminance + 0.05);
        let against_black = (luminance + 0.05) / 0.05;
        if against_white >= against_black {
            "#ffffff"
        } else {
            "#111111"
        }
    }
}

fn parse_cal_origin(raw: Option<String>) -> Result<Origin, ConfigError> {
    let raw = raw.unwrap_or_else(|| DEFAULT_CAL_ORIGIN.into());
    let origin = Origin::parse(&raw).map_err(|e| ConfigError::new("CAL_ORIGIN", e))?;
    // Cal.com's embed rewrites https://cal.com to its app host before it
    // frames anything, so the CSP must name the host it really uses.
    if origin.as_str() == "https://cal.com" {
        return Origin::parse(DEFAULT_CAL_ORIGIN).map_err(|e| ConfigError::new("CAL_ORIGIN", e));
    }
    Ok(origin)
}

fn parse_link(var: &'static str, raw: Option<String>) -> Result<Option<CalLink>, ConfigError> {
    raw.map(|v| CalLink::parse(&v))
        .transpose()
        .map_err(|e| ConfigError::new(var, e))
}

fn parse_choice<T: Choice>(var: &'static str, raw: Option<String>) -> Result<T, ConfigError> {
    let Some(raw) = raw else {
        return Ok(T::default());
    };
    let wanted = raw.trim();
    T::NAMES
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = T::NAMES.iter().map(|(n, _)| *n).collect();
            ConfigError::new(var, format!("one of {}, got {raw:?}", names.join(", ")))
        })
}

fn parse_minutes(raw: Option<String>) -> Result<u32, ConfigError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_MEETING_MINUTES);
    };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=24 * 60).contains(m))
        .ok_or_else(|| {
            ConfigError::new(
                "BOOKME_MEETING_MINUTES",
                format!("a whole number of minutes from 1 to 1440, got {raw:?}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn pages(vars: &[(&str, &str)]) -> Result<PagesConfig, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        parse(&|name: &str| map.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_embed_nothing_from_hosted_cal_com() {
        let c = pages(&[]).unwrap();
        assert_eq!(c.cal_origin.as_str(), DEFAULT_CAL_ORIGIN);
        assert_eq!(c.link_for(Locale::En), None);
        assert_eq!((c.layout, c.theme), (CalLayout::Month, CalTheme::Auto));
        assert_eq!(c.meeting_minutes, 30);
    }

    #[test]
    fn locale_links_override_the_shared_link() {
        let c = pages(&[("CAL_LINK", "/ann/30min/"), ("CAL_LINK_RU", "ann/30min-ru")]).unwrap();
        assert_eq!(c.link_for(Locale::En).unwrap().as_str(), "ann/30min");
        assert_eq!(c.link_for(Locale::Ru).unwrap().as_str(), "ann/30min-ru");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("CAL_ORIGIN", "cal.example.com"),
            ("CAL_LINK", "https://cal.com/ann/30min"),
            ("CAL_LINK_EN", "ann/<script>"),
            ("CAL_LINK_RU", "a b"),
            ("BOOKME_CAL_LAYOUT", "grid"),
            ("BOOKME_CAL_THEME", "blue"),
            ("BOOKME_BRAND_COLOR", "red"),
            ("BOOKME_MEETING_MINUTES", "0"),
            ("BOOKME_MEETING_MINUTES", "half an hour"),
        ];
        for (var, value) in cases {
            let err = pages(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{err}");
        }
    }

    #[test]
    fn cal_com_is_rewritten_to_its_app_host() {
        let c = pages(&[("CAL_ORIGIN", "https://cal.com/")]).unwrap();
        assert_eq!(c.cal_origin.as_str(), "https://app.cal.com");
        let c = pages(&[("CAL_ORIGIN", "https://cal.example.com/x")]).unwrap();
        assert_eq!(c.cal_origin.as_str(), "https://cal.example.com");
    }

    #[test]
    fn brand_colours_pick_a_readable_text_colour() {
        let dark = BrandColor::parse("#1F4").unwrap();
        assert_eq!(dark.as_str(), "#11ff44");
        assert_eq!(dark.text_color(), "#111111");
        assert_eq!(
            BrandColor::parse("#1f4fd1").unwrap().text_color(),
            "#ffffff"
        );
    }

    #[test]
    fn choices_round_trip_their_names() {
        let c = pages(&[
            ("BOOKME_CAL_LAYOUT", "week_view"),
            ("BOOKME_CAL_THEME", "dark"),
        ]);
        let c = c.unwrap();
        assert_eq!((c.layout.as_str(), c.theme.as_str()), ("week_view", "dark"));
    }
}
