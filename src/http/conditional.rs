//! Conditional GETs (RFC 9110 § 13): ETags, and 304 Not Modified to an `If-None-Match` that
//! names the current one. Tiles tag their bytes and the pages' files their version; downloads
//! and exports tag the data they read ([`data_tag`]), so that a repeated request is answered
//! without producing a body that can run to a million records.

use poem::http::{HeaderMap, StatusCode, header};
use poem::{Request, Response};
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use crate::db::{self, StoreResult};
use crate::domain::access::Caller;

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

/// What the answer to a request for data depends on: the request (path and query), who asks
/// (role and scope: answers differ by them, never by the token itself), this version of the
/// server (which decides the format), and the versions of the tables it reads with the
/// database's epoch.
#[derive(Clone, Copy)]
struct TagInput<'a> {
    path: &'a str,
    query: &'a str,
    caller: &'a str,
    versions: &'a [(String, i64)],
}

impl TagInput<'_> {
    /// A weak tag (the body is the same data, not promised to be the same bytes): 128 bits of
    /// the SHA-256 of every input, each length-prefixed so that no two inputs run together.
    fn tag(&self) -> String {
        let mut hash = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        part(env!("CARGO_PKG_VERSION").as_bytes());
        part(self.path.as_bytes());
        part(self.query.as_bytes());
        part(self.caller.as_bytes());
        for (table, version) in self.versions {
            part(table.as_bytes());
            part(&version.to_le_bytes());
        }
        format!("W/\"{}\"", hex::encode(&hash.finalize()[..16]))
    }
}

/// The role and scope an answer depends on.
fn scope(caller: &Caller) -> String {
    match caller {
        Caller::Anonymous => "ANONYMOUS".to_owned(),
        Caller::Signed(a) => format!("{}:{:?}:{:?}", a.role, a.township_id, a.bank_code),
    }
}

/// The ETag of what `req` answers `caller` from `tables` (every counted table when `None`),
/// from their versions alone (`db::table_versions`): one short query, whatever the answer's
/// size. Read before the answer, so that a write landing meanwhile can only make the tag older
/// than the body (the next request gets the body again), never newer.
pub async fn data_tag(
    conn: &impl ConnectionTrait,
    req: &Request,
    caller: &Caller,
    tables: Option<&[&str]>,
) -> StoreResult<String> {
    let versions = db::table_versions::of(conn, tables).await?;
    let uri = req.original_uri();
    Ok(TagInput {
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        caller: &scope(caller),
        versions: &versions,
    }
    .tag())
}

/// The caching headers of an answer tagged `etag` (from [`data_tag`]): any cache may keep an
/// anonymous one, only the caller's own client a signed one, and both ask again (a 304 when
/// nothing changed) before each use. `Vary: Authorization` is added to every answer by
/// `http::vary_by_caller`.
pub fn tagged(
    builder: poem::ResponseBuilder,
    etag: &str,
    caller: &Caller,
) -> poem::ResponseBuilder {
    let policy = if caller.is_anonymous() {
        "no-cache"
    } else {
        "private, no-cache"
    };
    builder
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, policy)
}

/// 304 Not Modified, with its tag and caching headers, when `req` holds `etag` already.
pub fn unchanged(req: &Request, etag: &str, caller: &Caller) -> Option<Response> {
    none_match(req.headers(), etag).then(|| {
        tagged(Response::builder(), etag, caller)
            .status(StatusCode::NOT_MODIFIED)
            .finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{Actor, Role};

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

    #[test]
    fn every_input_of_a_data_tag_changes_it() {
        let versions = vec![("(epoch)".to_owned(), 7), ("village".to_owned(), 3)];
        let anonymous = scope(&Caller::Anonymous);
        let base = TagInput {
            path: "/download/villages.geojson",
            query: "crs=GCJ02",
            caller: &anonymous,
            versions: &versions,
        };
        let cadre = Caller::Signed(Actor {
            token_id: 1,
            label: "x".into(),
            role: Role::Cadre,
            township_id: Some(2),
            bank_code: None,
        });
        let other_cadre = Caller::Signed(Actor {
            token_id: 9,
            label: "y".into(),
            role: Role::Cadre,
            township_id: Some(2),
            bank_code: None,
        });
        let written = vec![("(epoch)".to_owned(), 7), ("village".to_owned(), 4)];
        let restored = vec![("(epoch)".to_owned(), 8), ("village".to_owned(), 3)];
        let first_write = vec![
            ("(epoch)".to_owned(), 7),
            ("township".to_owned(), 1),
            ("village".to_owned(), 3),
        ];
        let cadre_scope = scope(&cadre);
        let tag = base.tag();
        assert!(tag.starts_with("W/\"") && tag.len() == 2 + 2 + 32, "{tag}");
        for other in [
            TagInput {
                path: "/download/townships.geojson",
                ..base
            },
            TagInput { query: "", ..base },
            TagInput {
                caller: &cadre_scope,
                ..base
            },
            TagInput {
                versions: &written,
                ..base
            },
            TagInput {
                versions: &restored,
                ..base
            },
            TagInput {
                versions: &first_write,
                ..base
            },
        ] {
            assert_ne!(other.tag(), tag);
        }
        assert_eq!(
            scope(&cadre),
            scope(&other_cadre),
            "two tokens of one role and scope get one answer"
        );
    }
}
