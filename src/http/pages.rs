//! The registry's own pages, served entirely from this binary like GraphiQL (whose files go out
//! through [`send`] too): `/map`, a map of the district's townships, villages, idle assets and
//! demonstration sites over the registry's vector tiles, and `/dashboard`, the district at a
//! glance: each township's progress against its targets and its figures, for cadres and the
//! district office who would rather look than read.
//!
//! MapLibre GL JS comes from `assets/maplibre/` (pinned and hash-checked by `build.rs`); the page's
//! own script and stylesheet from `src/http/pages/`. Every file is embedded twice, plain and
//! gzip-compressed, and sent compressed to browsers that accept it; its URL carries its version
//! (MapLibre's npm version, or a digest of the page's files), so it is cached as immutable. The
//! page names no other host unless the district sets a base map, and its Content-Security-Policy
//! holds the browser to that.

use poem::http::{HeaderMap, StatusCode, header};
use poem::web::{Data, Path};
use poem::{Endpoint, Response, Route, get, handler};
use serde_json::json;

use super::AppState;
use super::conditional::none_match;
use super::gzip::takes;
use crate::config::Settings;
use crate::db;
use crate::domain::geometry::BBox;

/// A file served with a version in its path, plain, gzip- and brotli-compressed.
pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    pub gzip: &'static [u8],
    pub brotli: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";

macro_rules! maplibre {
    ($file:literal) => {
        concat!(env!("MAPLIBRE_NPM"), "/", $file)
    };
}

macro_rules! page_file {
    ($file:literal) => {
        concat!("pages@", env!("RR_PAGES_DIGEST"), "/", $file)
    };
}

static ASSETS: [Asset; 6] = [
    Asset {
        path: maplibre!("maplibre-gl.js"),
        content_type: JAVASCRIPT,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre/maplibre-gl.js")),
        gzip: include_bytes!("../../assets/maplibre/maplibre-gl.js.gz"),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre/maplibre-gl.js.br")),
    },
    Asset {
        path: maplibre!("maplibre-gl.css"),
        content_type: CSS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre/maplibre-gl.css")),
        gzip: include_bytes!("../../assets/maplibre/maplibre-gl.css.gz"),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/maplibre/maplibre-gl.css.br")),
    },
    Asset {
        path: page_file!("map.js"),
        content_type: JAVASCRIPT,
        bytes: include_bytes!("pages/map.js"),
        gzip: include_bytes!(concat!(env!("OUT_DIR"), "/pages/map.js.gz")),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/pages/map.js.br")),
    },
    Asset {
        path: page_file!("map.css"),
        content_type: CSS,
        bytes: include_bytes!("pages/map.css"),
        gzip: include_bytes!(concat!(env!("OUT_DIR"), "/pages/map.css.gz")),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/pages/map.css.br")),
    },
    Asset {
        path: page_file!("dashboard.js"),
        content_type: JAVASCRIPT,
        bytes: include_bytes!("pages/dashboard.js"),
        gzip: include_bytes!(concat!(env!("OUT_DIR"), "/pages/dashboard.js.gz")),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/pages/dashboard.js.br")),
    },
    Asset {
        path: page_file!("dashboard.css"),
        content_type: CSS,
        bytes: include_bytes!("pages/dashboard.css"),
        gzip: include_bytes!(concat!(env!("OUT_DIR"), "/pages/dashboard.css.gz")),
        brotli: include_bytes!(concat!(env!("OUT_DIR"), "/pages/dashboard.css.br")),
    },
];

/// The pages' routes, to be nested at `/map`: the page and its versioned files.
pub fn endpoint() -> impl Endpoint {
    Route::new()
        .at("/", get(map_page))
        .at("/assets/:package/:file", get(serve_asset))
}

/// `asset`, brotli-compressed to a client that takes it, else gzip-compressed to one that takes
/// that, cached as immutable (its path names its content), 304 to a client that holds it.
pub(crate) fn send(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", asset.path);
    let held = none_match(headers, &etag);
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, IMMUTABLE)
        .header(header::ETAG, &etag)
        .header(header::VARY, "Accept-Encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if held {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    let builder = builder.content_type(asset.content_type);
    if takes(headers, "br") {
        builder
            .header(header::CONTENT_ENCODING, "br")
            .body(asset.brotli)
    } else if takes(headers, "gzip") {
        builder
            .header(header::CONTENT_ENCODING, "gzip")
            .body(asset.gzip)
    } else {
        builder.body(asset.bytes)
    }
}

#[handler]
fn serve_asset(Path((package, file)): Path<(String, String)>, headers: &HeaderMap) -> Response {
    let path = format!("{package}/{file}");
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => send(asset, headers),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body(format!("no asset {path}")),
    }
}

/// The origin (`scheme://host[:port]`) of a URL template, for the page's policy.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

/// Only this origin, and the base map's when one is set (its template's or its style's origin,
/// and those `MAP_BASE_ORIGINS` names). MapLibre draws in a worker it starts from a `blob:` URL,
/// and sets `style` attributes.
fn content_security_policy(settings: &Settings) -> String {
    let mut origins: Vec<&str> = settings
        .map_base_url
        .as_deref()
        .or(settings.map_base_style.as_deref())
        .and_then(origin_of)
        .into_iter()
        .chain(settings.map_base_origins.iter().map(String::as_str))
        .collect();
    origins.dedup();
    let base: String = origins.iter().map(|o| format!(" {o}")).collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{base}; connect-src 'self'{base}; worker-src blob:; \
         child-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// What the page's script needs from the server: the datum its tiles and coordinates are in
/// (the base map's), the base map, and the district's bounds in that datum.
fn config(settings: &Settings, bounds: BBox) -> serde_json::Value {
    let crs = settings.map_base_datum;
    let b = super::tiles::bounds_in(bounds, crs);
    let (west, south, east, north) = (b.min_lon, b.min_lat, b.max_lon, b.max_lat);
    json!({
        "crs": crs.as_str(),
        "base": match (&settings.map_base_url, &settings.map_base_style) {
            (Some(url), _) => json!({ "url": url, "attribution": settings.map_base_attribution }),
            (None, Some(style)) => {
                json!({ "style": style, "attribution": settings.map_base_attribution })
            }
            (None, None) => serde_json::Value::Null,
        },
        "bounds": [[west, south], [east, north]],
    })
}

/// JSON that may sit inside a `<script>` element: no `<` to end it early.
fn script_safe(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// A page: never cached without revalidation (it is small and names its files' versions, so a
/// deploy reaches every browser on its next load), held to `policy`.
fn html(page: String, policy: &str) -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::CONTENT_SECURITY_POLICY, policy)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(page)
}

/// `GET /dashboard`: the district at a glance. Its script reads the statistics and targets from
/// `/graphql` with the token the map page keeps in the tab's session, if any.
#[handler]
pub fn dashboard_page() -> Response {
    const PAGE: &str = concat!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rural-registry · 工作进度 Dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/map/assets/"#,
        page_file!("dashboard.css"),
        r#"">
</head>
<body>
<header>
<h1><span id="year"></span> 年乡村振兴工作进度 · 各乡镇</h1>
<span id="who" role="status"></span>
<a href="/map">地图 Map</a>
<a href="/graphiql">GraphiQL</a>
</header>
<main id="cards" aria-live="polite"><p>载入中…</p></main>
<script src="/map/assets/"#,
        page_file!("dashboard.js"),
        r#""></script>
</body>
</html>
"#
    );
    html(
        PAGE.to_owned(),
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
    )
}

#[handler]
async fn map_page(state: Data<&AppState>) -> Response {
    let bounds = match db::places::district_bounds(state.read_db()).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = ?e.0, "reading the district's bounds for /map");
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .content_type("text/plain; charset=utf-8")
                .body("the database is not answering; try again shortly");
        }
    };
    let page = format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rural-registry · 地图 Map</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/map/assets/{maplibre_css}">
<link rel="stylesheet" href="/map/assets/{map_css}">
</head>
<body>
<header>
<h1 id="title">闲置资产地图</h1>
<form id="search" role="search"><input id="q" type="search" autocomplete="off"><button id="search-go" type="submit">搜索</button></form>
<span id="search-said" role="status"></span>
<form id="sign-in"></form>
<span id="who" role="status"></span>
<a href="/graphiql">GraphiQL</a>
<button id="lang" type="button">EN</button>
</header>
<main>
<div id="map" role="application" aria-label="地图 Map"></div>
<aside id="legend"></aside>
<section id="card" hidden aria-live="polite"></section>
</main>
<script type="application/json" id="rr-config">{config}</script>
<script src="/map/assets/{maplibre_js}"></script>
<script src="/map/assets/{map_js}"></script>
</body>
</html>
"#,
        maplibre_css = maplibre!("maplibre-gl.css"),
        maplibre_js = maplibre!("maplibre-gl.js"),
        map_css = page_file!("map.css"),
        map_js = page_file!("map.js"),
        config = script_safe(&config(&state.settings, bounds)),
    );
    html(page, &content_security_policy(&state.settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_base_maps_origin_only() {
        assert_eq!(
            origin_of("https://t0.tianditu.gov.cn/img_w/wmts?x={x}"),
            Some("https://t0.tianditu.gov.cn")
        );
        assert_eq!(
            origin_of("http://10.0.0.5:8081/{z}/{x}/{y}.png"),
            Some("http://10.0.0.5:8081")
        );
        assert_eq!(origin_of("/tiles/{z}"), None);
        let mut s = Settings::with_database("sqlite::memory:");
        s.map_base_style = Some("https://gis.example.cn/styles/basic.json".into());
        s.map_base_origins = vec!["https://fonts.example.cn".into()];
        let policy = content_security_policy(&s);
        assert!(
            policy.contains("connect-src 'self' https://gis.example.cn https://fonts.example.cn;"),
            "{policy}"
        );
    }

    #[test]
    fn config_json_cannot_close_its_script_element() {
        let v = json!({ "attribution": "</script><script>alert(1)</script>" });
        assert!(!script_safe(&v).contains('<'));
    }
}
