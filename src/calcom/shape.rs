//! A shallow look at a verified body: its trigger, its booking uid and which
//! of Cal.com's envelope shapes it has. Unknown fields are skipped without
//! being built, so this costs far less than the worker's full parse.

use serde::Deserialize;
use serde::de::IgnoredAny;

/// Which shape a body has. Every shape is stored; only the worker acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// `{"triggerEvent", "createdAt", "payload": {...}}`, the default envelope.
    Envelope,
    /// `{"triggerEvent", ...booking}` with no `payload`: MEETING_STARTED/ENDED.
    Flat,
    /// A JSON object without `triggerEvent`, as custom templates produce.
    NoTrigger,
    /// Valid JSON that is not an object, such as a template's `false`.
    NotObject,
    /// Bytes that are not JSON at all.
    NotJson,
}

impl ShapeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Flat => "flat",
            Self::NoTrigger => "no_trigger",
            Self::NotObject => "not_object",
            Self::NotJson => "not_json",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Envelope,
            Self::Flat,
            Self::NoTrigger,
            Self::NotObject,
            Self::NotJson,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// True when there is a trigger the worker can route on.
    pub fn has_trigger(self) -> bool {
        matches!(self, Self::Envelope | Self::Flat)
    }
}

/// The result of [`Shape::of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub kind: ShapeKind,
    pub trigger: Option<String>,
    pub booking_uid: Option<String>,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "triggerEvent")]
    trigger: Option<Loose>,
    payload: Option<PeekPayload>,
    uid: Option<Loose>,
}

#[derive(Deserialize)]
struct PeekPayload {
    uid: Option<Loose>,
    #[serde(rename = "bookingUid")]
    booking_uid: Option<Loose>,
}

/// A value kept only when it is a string; any other JSON type is ignored
/// rather than failing the peek.
struct Loose(Option<String>);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Text(String),
            Other(IgnoredAny),
        }
        Ok(Loose(match Any::deserialize(d)? {
            Any::Text(s) => Some(s),
            Any::Other(_) => None,
        }))
    }
}

impl Shape {
    /// Classifies a body. Never fails: every outcome is a [`ShapeKind`].
    pub fn of(body: &[u8]) -> Self {
        match serde_json::from_slice::<Peek>(body) {
            Ok(peek) => Self::from_peek(peek),
            Err(_) => Self::unparsed(not_object_or_not_json(body)),
        }
    }

    fn from_peek(peek: Peek) -> Self {
        let trigger = peek.trigger.and_then(|t| t.0).filter(|t| !t.is_empty());
        let Some(trigger) = trigger else {
            return Self::unparsed(ShapeKind::NoTrigger);
        };
        let (kind, uid) = match peek.payload {
            Some(p) => (
                ShapeKind::Envelope,
                p.uid.and_then(|u| u.0).or(p.booking_uid.and_then(|u| u.0)),
            ),
            None => (ShapeKind::Flat, peek.uid.and_then(|u| u.0)),
        };
        Self {
            kind,
            trigger: Some(trigger),
            booking_uid: uid,
        }
    }

    fn unparsed(kind: ShapeKind) -> Self {
        Self {
            kind,
            trigger: None,
            booking_uid: None,
        }
    }
}

fn not_object_or_not_json(body: &[u8]) -> ShapeKind {
    if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
        ShapeKind::NotObject
    } else {
        ShapeKind::NotJson
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> ShapeKind {
        Shape::of(body.as_bytes()).kind
    }

    #[test]
    fn the_default_envelope_names_trigger_and_uid() {
        let s = Shape::of(br#"{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"abc"}}"#);
        assert_eq!(s.kind, ShapeKind::Envelope);
        assert_eq!(s.trigger.as_deref(), Some("BOOKING_CREATED"));
        assert_eq!(s.booking_uid.as_deref(), Some("abc"));
    }

    #[test]
    fn no_show_updates_carry_booking_uid() {
        let body = br#"{"triggerEvent":"BOOKING_NO_SHOW_UPDATED","payload":{"bookingUid":"u1"}}"#;
        assert_eq!(Shape::of(body).booking_uid.as_deref(), Some("u1"));
    }

    #[test]
    fn meeting_events_are_flat() {
        let s = Shape::of(br#"{"triggerEvent":"MEETING_ENDED","id":1,"uid":"m1"}"#);
        assert_eq!(
            (s.kind, s.booking_uid.as_deref()),
            (ShapeKind::Flat, Some("m1"))
        );
    }

    #[test]
    fn template_and_garbage_bodies_are_classified() {
        assert_eq!(kind("{}"), ShapeKind::NoTrigger);
        assert_eq!(kind(r#"{"triggerEvent":""}"#), ShapeKind::NoTrigger);
        assert_eq!(kind(r#"{"triggerEvent":42}"#), ShapeKind::NoTrigger);
        assert_eq!(kind("false"), ShapeKind::NotObject);
        assert_eq!(kind("[1,2]"), ShapeKind::NotObject);
        assert_eq!(kind("name=Ann&x=1"), ShapeKind::NotJson);
        assert_eq!(kind(""), ShapeKind::NotJson);
    }

    #[test]
    fn odd_types_for_known_keys_do_not_fail_the_peek() {
        let s = Shape::of(br#"{"triggerEvent":"X","payload":{"uid":7}}"#);
        assert_eq!((s.kind, s.booking_uid), (ShapeKind::Envelope, None));
        let s = Shape::of(br#"{"triggerEvent":"X","payload":null}"#);
        assert_eq!(s.kind, ShapeKind::Flat);
    }
}
