//! A response body prepared once: identity, gzip and brotli bytes with
//! their ETags. Serving one is choosing a variant and writing headers.

use std::io::Write;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::locale::parse_quality;

/// A content coding we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}

/// One resource, in every coding worth sending, each with its own strong ETag.
pub struct Encoded {
    content_type: HeaderValue,
    variants: [Option<Bytes>; 3],
    etags: [HeaderValue; 3],
    /// The content hash, also used to fingerprint asset file names.
    hash: String,
}

impl Encoded {
    /// Compresses `body` with gzip and brotli at their best levels; a coding
    /// that does not make the body smaller is not kept.
    pub fn new(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let identity: Bytes = body.into();
        let hash = hex::encode(&Sha256::digest(&identity)[..8]);
        let smaller = |compressed: Vec<u8>| {
            (compressed.len() < identity.len()).then(|| Bytes::from(compressed))
        };
        let gzip = smaller(gzip(&identity));
        let brotli = smaller(brotli(&identity));
        let etag = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{hash}{suffix}\"")).expect("hex is a valid header")
        };
        Self {
            content_type: HeaderValue::from_static(content_type),
            etags: [etag(""), etag("-gz"), etag("-br")],
            variants: [Some(identity), gzip, brotli],
            hash,
        }
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The uncompressed bytes.
    pub fn identity(&self) -> &Bytes {
        self.variants[0].as_ref().expect("identity is always kept")
    }

    /// Answers a request: 304 when its `If-None-Match` names this content,
    /// else `status` with the best coding the client accepts. `extra` holds
    /// the headers that go on both (caching and security).
    pub fn respond(&self, request: &HeaderMap, status: StatusCode, extra: &HeaderMap) -> Response {
        let coding = self.choose(request);
        let mut response = if status == StatusCode::OK && self.is_fresh(request) {
            empty(StatusCode::NOT_MODIFIED)
        } else {
            let body = self.variants[coding as usize].clone().unwrap_or_default();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, self.content_type.clone());
            if let Some(name) = coding.token() {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
            }
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etags[coding as usize].clone());
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        extend(headers, extra);
        response
    }

    /// The best coding the request accepts among those we hold.
    fn choose(&self, request: &HeaderMap) -> Coding {
        let accepted = AcceptEncoding::parse(request);
        // `max_by` keeps the last of equals, so brotli, listed last, wins ties.
        [Coding::Gzip, Coding::Brotli]
            .into_iter()
            .filter(|c| self.variants[*c as usize].is_some())
            .filter(|c| accepted.quality(*c) > 0.0)
            .max_by(|a, b| accepted.quality(*a).total_cmp(&accepted.quality(*b)))
            .unwrap_or(Coding::Identity)
    }

    /// Whether `If-None-Match` names any variant of this content. The weak
    /// comparison that RFC 9110 prescribes for GET ignores `W/`.
    fn is_fresh(&self, request: &HeaderMap) -> bool {
        let ours = |tag: &str| {
            let tag = tag.trim().trim_start_matches("W/");
            tag == "*" || self.etags.iter().any(|e| e.as_bytes() == tag.as_bytes())
        };
        request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(ours)
    }
}

/// A response with no body and the given status.
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Copies every header of `extra` onto `headers`, replacing same names.
pub fn extend(headers: &mut HeaderMap, extra: &HeaderMap) {
    for (name, value) in extra {
        headers.insert(name.clone(), value.clone());
    }
}

/// Builds a header map from static pairs; the names and values are ours.
pub fn header_map(pairs: &[(HeaderName, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            let value = HeaderValue::from_str(value).expect("built-in header values are valid");
            (name.clone(), value)
        })
        .collect()
}

impl Coding {
    fn token(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// The client's `Accept-Encoding`, reduced to the codings we hold.
struct AcceptEncoding {
    gzip: Option<f32>,
    brotli: Option<f32>,
    any: Option<f32>,
}

impl AcceptEncoding {
    fn parse(request: &HeaderMap) -> Self {
        let mut accepted = Self {
            gzip: None,
            brotli: None,
            any: None,
        };
        let elements = request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        for element in elements {
            let mut parts = element.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = Some(parts.find_map(parse_quality).unwrap_or(1.0));
            match name.as_str() {
                "gzip" | "x-gzip" => accepted.gzip = quality,
                "br" => accepted.brotli = quality,
                "*" => accepted.any = quality,
                _ => {}
            }
        }
        accepted
    }

    fn quality(&self, coding: Coding) -> f32 {
        let named = match coding {
            Coding::Identity => return 1.0,
            Coding::Gzip => self.gzip,
            Coding::Brotli => self.brotli,
        };
        named.or(self.any).unwrap_or(0.0)
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(body)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams::default();
    brotli::BrotliCompress(&mut &body[..], &mut out, &params)
        .expect("compressing from a slice into a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded() -> Encoded {
        Encoded::new("text/html; charset=utf-8", "<p>hello</p>".repeat(50))
    }

    fn request(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        header_map(pairs)
    }

    #[test]
    fn brotli_is_preferred_then_gzip_then_identity() {
        let e = encoded();
        let pick = |accept: &str| e.choose(&request(&[(header::ACCEPT_ENCODING, accept)]));
        assert_eq!(pick("gzip, deflate, br"), Coding::Brotli);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0.5, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0"), Coding::Identity);
        assert_eq!(pick("*"), Coding::Brotli);
        assert_eq!(pick("zstd"), Coding::Identity);
        assert_eq!(e.choose(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn tiny_bodies_are_not_compressed() {
        let e = Encoded::new("text/plain", "a");
        let accept = request(&[(header::ACCEPT_ENCODING, "br, gzip")]);
        assert_eq!(e.choose(&accept), Coding::Identity);
    }

    #[test]
    fn any_variant_etag_revalidates() {
        let e = encoded();
        for etag in &e.etags {
            let tag = etag.to_str().unwrap();
            assert!(e.is_fresh(&request(&[(header::IF_NONE_MATCH, tag)])));
            let weak = format!("W/{tag}");
            assert!(e.is_fresh(&request(&[(header::IF_NONE_MATCH, &weak)])));
        }
        assert!(!e.is_fresh(&request(&[(header::IF_NONE_MATCH, "\"other\"")])));
    }

    #[test]
    fn compressed_variants_decode_to_the_identity() {
        let e = encoded();
        let gz = e.variants[Coding::Gzip as usize].clone().unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        assert_eq!(text.as_bytes(), &e.identity()[..]);
    }
}
