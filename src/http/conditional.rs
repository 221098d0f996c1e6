//! Conditional GETs (RFC 9110 § 13): 304 Not Modified to an `If-None-Match` that names the
//! current ETag. Tiles tag their bytes and the pages' files their version.

use poem::http::{HeaderMap, header};

/// Whether `If-None-Match` names `etag` (or is `*`): a weak comparison, as RFC 9110 § 13.1.2
/// asks for this header, so `W/"…"` from a cache that weakened a tag matches too, and a weak
/// tag matches itself.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
    let wanted = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || opaque(tag) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_matches_strong_weak_listed_and_any_tags() {
        for (etag, header, expected) in [
            ("\"abc\"", "\"abc\"", true),
            ("\"abc\"", "W/\"abc\"", true),
            ("\"abc\"", "\"x\", \"abc\"", true),
            ("\"abc\"", "*", true),
            ("\"abc\"", "\"abd\"", false),
            ("\"abc\"", "abc", false),
            ("W/\"abc\"", "W/\"abc\"", true),
            ("W/\"abc\"", "\"abc\"", true),
            ("W/\"abc\"", "W/\"abd\", W/\"abe\"", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::IF_NONE_MATCH,
                header.parse().expect("a header value"),
            );
            assert_eq!(none_match(&headers, etag), expected, "{etag} vs {header}");
        }
        assert!(!none_match(&HeaderMap::new(), "\"abc\""));
    }
}
