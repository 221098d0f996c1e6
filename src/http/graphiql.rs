//! GraphiQL, the in-browser IDE that township cadres use, served entirely from this binary.
//!
//! async-graphql's built-in page loads React and GraphiQL from a CDN, which township offices
//! cannot reach: the page stays blank. So the pinned npm files, committed in `assets/graphiql/`
//! and checked by `build.rs`, are embedded here; the page names no other host, and its
//! Content-Security-Policy makes the browser refuse one should a future asset try.
//!
//! Mounted by the app with `.nest("/graphiql", graphiql::endpoint())`; the page refers to its
//! assets by absolute paths under `/graphiql`, so that prefix is part of the contract.

use poem::http::{HeaderMap, StatusCode, header};

#[cfg(test)]
use super::pages::IMMUTABLE;
use super::pages::{Asset, send};
use poem::web::Path;
use poem::{Endpoint, Response, Route, get, handler};

/// A macro, not only a const, because `concat!` below takes literals and macros but not consts:
/// the page is assembled at compile time with the query inside it.
macro_rules! example_query {
    () => {
        "# 青岚区 rural-registry — GraphiQL
# Press ▶ (Ctrl-Enter) to run. Docs: the book icon on the left (中文 terms in every description).
# Without a token you see the public map: kinds, statuses, locations to about 500 m. With one in
# Headers, {\"Authorization\": \"Bearer rr_…\"}, also ask for code, floorAreaSquareMeters,
# village { name }, owner { name } and the rest.
query TownshipIdleAssets {
  townships(first: 3) {
    totalCount
    nodes { code name statusCounts { status count } }
  }
  idleAssets(first: 5, filter: { status: [LISTED] }) {
    totalCount
    edges {
      node { id kind status location }
    }
  }
}
"
    };
}

/// The query GraphiQL opens with on a browser's first visit (later visits keep the cadre's own
/// tabs): it touches townships and idle assets, so pressing ▶ shows at once that the server, the
/// data and the connection types work.
pub const EXAMPLE_QUERY: &str = example_query!();

/// Asset URLs carry the npm `name@version` that `build.rs` pins (it sets these variables), so
/// a version bump changes the URL and the year-long immutable caching can never serve stale code.
macro_rules! asset_path {
    (graphiql, $file:literal) => {
        concat!(env!("GRAPHIQL_NPM_GRAPHIQL"), "/", $file)
    };
    (react, $file:literal) => {
        concat!(env!("GRAPHIQL_NPM_REACT"), "/", $file)
    };
    (react_dom, $file:literal) => {
        concat!(env!("GRAPHIQL_NPM_REACT_DOM"), "/", $file)
    };
}

const GRAPHIQL_JS: &str = asset_path!(graphiql, "graphiql.min.js");
const GRAPHIQL_CSS: &str = asset_path!(graphiql, "graphiql.min.css");
const REACT_JS: &str = asset_path!(react, "react.production.min.js");
const REACT_DOM_JS: &str = asset_path!(react_dom, "react-dom.production.min.js");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The files served under `/graphiql/assets/`, each with its `name@version/file` path, which is
/// also its ETag: npm never changes a published version and `build.rs` checks every byte against
/// a pinned hash, so the path identifies the content. Each is embedded plain, as committed
/// gzip-compressed, and brotli-compressed by `build.rs` (3.5 MB become 1.05 MB gzipped, 0.88 MB
/// with brotli).
static ASSETS: [Asset; 4] = [
    Asset {
        path: GRAPHIQL_JS,
        content_type: JAVASCRIPT,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.js")),
        gzip: include_bytes!("../../assets/graphiql/graphiql.min.js.gz"),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.js.br")),
    },
    Asset {
        path: GRAPHIQL_CSS,
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.css")),
        gzip: include_bytes!("../../assets/graphiql/graphiql.min.css.gz"),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/graphiql.min.css.br")),
    },
    Asset {
        path: REACT_JS,
        content_type: JAVASCRIPT,
        bytes: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react.production.min.js"
        )),
        gzip: include_bytes!("../../assets/graphiql/react.production.min.js.gz"),
        brotli: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react.production.min.js.br"
        )),
    },
    Asset {
        path: REACT_DOM_JS,
        content_type: JAVASCRIPT,
        bytes: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react-dom.production.min.js"
        )),
        gzip: include_bytes!("../../assets/graphiql/react-dom.production.min.js.gz"),
        brotli: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/graphiql/react-dom.production.min.js.br"
        )),
    },
];

/// The page. The example query travels in a non-executable `<script>` element, read by
/// `init.js`, so that it needs no JavaScript escaping and the policy can forbid inline scripts.
/// The header line tells how to sign in, because the headers pane is where a token goes and JSON
/// there cannot carry a comment. The empty `data:` icon spares the server a `/favicon.ico` 404 on
/// every visit.
const PAGE: &str = concat!(
    r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rural-registry · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/graphiql/assets/"#,
    asset_path!(graphiql, "graphiql.min.css"),
    r#"">
<style>
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; }
#rr-header { flex: none; padding: 4px 12px; font: 13px/1.5 system-ui, sans-serif; color: #3b4b68; background: #f2f4f7; border-bottom: 1px solid #d9dee8; }
#rr-header code { font-size: 12px; }
#graphiql { flex: 1; min-height: 0; }
</style>
</head>
<body>
<div id="rr-header"><strong>rural-registry</strong> · 乡村振兴资产登记 · To sign in (登录), put <code>{"Authorization": "Bearer &lt;token&gt;"}</code> in Headers (请求头) below the query.</div>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/graphql" id="rr-example-query">"#,
    example_query!(),
    r#"</script>
<script src="/graphiql/assets/"#,
    asset_path!(react, "react.production.min.js"),
    r#""></script>
<script src="/graphiql/assets/"#,
    asset_path!(react_dom, "react-dom.production.min.js"),
    r#""></script>
<script src="/graphiql/assets/"#,
    asset_path!(graphiql, "graphiql.min.js"),
    r#""></script>
<script src="/graphiql/init.js"></script>
</body>
</html>
"#
);

/// Starts GraphiQL. Headers are not persisted (`shouldPersistHeaders: false`, GraphiQL's default
/// made explicit) because a cadre's bearer token must not stay in the localStorage of a shared
/// office computer.
const INIT_JS: &str = r#"'use strict';
(function () {
  // A link may bring a query (the map's "query it in GraphiQL"): `/graphiql?query=…`.
  var linked = new URLSearchParams(window.location.search).get('query');
  var defaultQuery = linked || document.getElementById('rr-example-query').textContent;
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
      defaultQuery: defaultQuery,
      query: linked || undefined,
      defaultHeaders: '{}',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
"#;

/// Only this origin, for everything: the offline promise enforced by the browser. Styles allow
/// 'unsafe-inline' because GraphiQL and CodeMirror set `style` attributes; images and fonts allow
/// `data:` URIs because GraphiQL's CSS embeds its icons that way.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The GraphiQL routes, to be nested at `/graphiql`: the page, its start-up script, and the
/// embedded assets.
pub fn endpoint() -> impl Endpoint {
    Route::new()
        .at("/", get(serve_page))
        .at("/init.js", get(serve_init_js))
        .at("/assets/:package/:file", get(serve_asset))
}

#[handler]
fn serve_page() -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        // The page is small and names the asset versions: always revalidate it, so a deploy
        // that upgrades GraphiQL reaches every browser on the next load.
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(PAGE)
}

#[handler]
fn serve_init_js() -> Response {
    Response::builder()
        .content_type(JAVASCRIPT)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(INIT_JS)
}

#[handler]
fn serve_asset(Path((package, file)): Path<(String, String)>, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS
        .iter()
        .find(|asset| asset.path.split_once('/') == Some((package.as_str(), file.as_str())))
    else {
        return StatusCode::NOT_FOUND.into();
    };
    send(asset, headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;
    use poem::Request;

    async fn get_path(path: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::builder().uri_str(path);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let route = Route::new().nest("/graphiql", endpoint());
        route.get_response(request.finish()).await
    }

    #[tokio::test]
    async fn page_links_every_embedded_asset_and_no_other_host() -> anyhow::Result<()> {
        let response = get_path("/graphiql", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().into_string().await?;
        for asset in &ASSETS {
            let link = format!("\"/graphiql/assets/{}\"", asset.path);
            assert!(body.contains(&link), "the page lacks {link}");
        }
        assert!(body.contains("<title>rural-registry · GraphiQL</title>"));
        assert!(!body.contains("://"), "the page names a host");
        Ok(())
    }

    #[test]
    fn example_query_cannot_break_out_of_its_script_element() {
        assert!(!EXAMPLE_QUERY.contains('<') && !EXAMPLE_QUERY.contains('&'));
        assert!(PAGE.contains(EXAMPLE_QUERY));
    }

    #[tokio::test]
    async fn assets_are_immutable_and_revalidate_by_etag() -> anyhow::Result<()> {
        for asset in &ASSETS {
            let path = format!("/graphiql/assets/{}", asset.path);
            let response = get_path(&path, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.content_type(), Some(asset.content_type), "{path}");
            let header_value = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
            assert_eq!(
                header_value(header::CACHE_CONTROL),
                Some(IMMUTABLE),
                "{path}"
            );
            let etag = header_value(header::ETAG).context("no ETag")?.to_owned();
            assert_eq!(
                response.into_body().into_bytes().await?,
                asset.bytes,
                "{path}"
            );

            let revalidated = get_path(&path, Some(&format!("\"other\", W/{etag}"))).await;
            assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{path}");
            let changed = get_path(&path, Some("\"other\"")).await;
            assert_eq!(changed.status(), StatusCode::OK, "{path}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn unknown_assets_are_not_found() {
        for path in [
            "/graphiql/assets/graphiql@0.0.1/graphiql.min.js",
            "/graphiql/assets/graphiql.min.js",
            &format!("/graphiql/assets/{GRAPHIQL_JS}.map"),
            &format!("/graphiql/assets/{GRAPHIQL_JS}/x"),
            "/graphiql/assets/..%2F..%2Fbuild.rs/x",
        ] {
            let status = get_path(path, None).await.status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }
}
