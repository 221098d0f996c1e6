//! The request as the client sent it: the client's address, and the scheme and host it used.
//!
//! Behind a reverse proxy, the TCP peer is the proxy, and what the client sent reaches us only in
//! `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host`. Anyone can write those
//! headers, so they are believed only when the peer is one of `TRUSTED_PROXIES`; from any other
//! peer they are ignored, and the peer's own address, the `Host` header and the connection's
//! scheme stand. Every use of these headers (the rate limit's key, OGC links, TileJSON URLs) goes
//! through this module, so that the rule is written once.
//!
//! `X-Forwarded-For` is walked from the right (the hop nearest us), skipping trusted proxies: the
//! first address that is not one is the client, and what lies to its left, which that client
//! could have written itself, is never read. `X-Forwarded-Proto` and `-Host` carry no hops, so a
//! trusted proxy must set them (overwrite, not append to what its client sent); the first value is
//! taken.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use poem::Request;
use poem::http::header;
use poem::http::uri::Authority;

use super::rest::RestError;
use crate::config::TrustedProxies;

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest untrusted
/// hop of `X-Forwarded-For` (see the module's doc).
pub fn address(req: &Request, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer(req);
    if !trusted.contains(peer) {
        return peer;
    }
    let hops = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    nearest_untrusted(peer, hops, trusted)
}

/// `scheme://host[:port]` as the client reached the server: `X-Forwarded-Proto` and
/// `X-Forwarded-Host` from a trusted proxy, else the connection's scheme and the `Host` header
/// (HTTP/1.1) or the URI's authority (HTTP/2). A host that is missing or not a plain authority
/// (user info, a path, stray characters would build a link pointing elsewhere) is BAD_INPUT.
pub fn origin(req: &Request, trusted: &TrustedProxies) -> Result<String, RestError> {
    origin_through(req, trusted.contains(peer(req)))
}

/// [`origin`], the `X-Forwarded-…` headers believed when `proxied`.
fn origin_through(req: &Request, proxied: bool) -> Result<String, RestError> {
    let forwarded = |name: &str| {
        proxied
            .then(|| first_value(req, name))
            .flatten()
            .map(str::to_owned)
    };
    let scheme = forwarded("x-forwarded-proto")
        .map(|p| p.to_ascii_lowercase())
        .filter(|p| matches!(p.as_str(), "http" | "https"))
        .unwrap_or_else(|| req.scheme().as_str().to_owned());
    let host = forwarded("x-forwarded-host")
        .or_else(|| first_value(req, header::HOST.as_str()).map(str::to_owned))
        .or_else(|| req.uri().authority().map(ToString::to_string))
        .ok_or_else(|| RestError::bad_input("the request names no host (no `Host` header)"))?;
    if !is_plain_authority(&host) {
        return Err(RestError::bad_input(format!(
            "`{host}` is not a valid host"
        )));
    }
    Ok(format!("{scheme}://{host}"))
}

/// The TCP peer's address, IPv4-mapped IPv6 addresses as IPv4 (a dual-stack listener reports
/// IPv4 peers so). A peer that is not an IP socket (none today) counts as 0.0.0.0.
fn peer(req: &Request) -> IpAddr {
    req.remote_addr()
        .as_socket_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical())
}

/// Walks `hops` (`X-Forwarded-For`'s entries, left to right) from the right, starting from a
/// trusted `peer`: the first address not in `trusted` is the client. When every hop is trusted,
/// the leftmost is; a hop that is not an address ends the walk at the last trusted one, since
/// nothing beyond it can be believed.
fn nearest_untrusted<'a>(
    peer: IpAddr,
    hops: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = peer;
    for hop in hops.rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, bracketed or not, with or without a
/// port (proxies write all of these).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })?;
    Some(ip.to_canonical())
}

/// The first non-empty, comma-separated value of the header `name`.
fn first_value<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether `host` is `name[:port]` and nothing else.
fn is_plain_authority(host: &str) -> bool {
    host.parse::<Authority>()
        .is_ok_and(|a| a.as_str() == host && !host.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> TrustedProxies {
        list.join(",").parse().expect("networks")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        // (peer, X-Forwarded-For, client, why)
        let cases = [
            ("10.0.0.2", "203.0.113.9", "203.0.113.9", "one proxy"),
            (
                "10.0.0.2",
                "198.51.100.1, 203.0.113.9, 192.168.1.7",
                "203.0.113.9",
                "proxies are skipped; what the client wrote on the left is not read",
            ),
            (
                "10.0.0.2",
                "10.1.1.1, 192.168.1.7",
                "10.1.1.1",
                "a chain of proxies alone: the furthest",
            ),
            ("10.0.0.2", "", "10.0.0.2", "a proxy that says nothing"),
            (
                "10.0.0.2",
                "203.0.113.9, unknown",
                "10.0.0.2",
                "a hop that is not an address ends the walk",
            ),
            (
                "10.0.0.2",
                "203.0.113.9:4711",
                "203.0.113.9",
                "an IPv4 address with a port",
            ),
            (
                "fd00::1",
                "[2001:db8::5]:443",
                "2001:db8::5",
                "a bracketed IPv6 address with a port",
            ),
            (
                "10.0.0.2",
                "[2001:db8::5]",
                "2001:db8::5",
                "a bracketed IPv6 address",
            ),
            (
                "10.0.0.2",
                "::ffff:203.0.113.9",
                "203.0.113.9",
                "an IPv4-mapped address is IPv4",
            ),
        ];
        for (peer, header, client, why) in cases {
            assert_eq!(
                nearest_untrusted(ip(peer), header.split(','), &trusted),
                ip(client),
                "{why}"
            );
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        let req = Request::builder()
            .header("x-forwarded-for", "10.0.0.9")
            .finish();
        // A request built in a test has no peer: 0.0.0.0, not trusted.
        assert_eq!(address(&req, &trusted), ip("0.0.0.0"));
    }

    #[test]
    fn forwarded_scheme_and_host_count_only_from_a_trusted_proxy() {
        let req = |proto: &str, host: &str| {
            Request::builder()
                .header("host", "registry.local:8080")
                .header("x-forwarded-proto", proto)
                .header("x-forwarded-host", host)
                .finish()
        };
        let forwarded = req("https", "registry.example.cn, inner.local");
        assert_eq!(
            origin(&forwarded, &nets(&["10.0.0.0/8"])).ok().as_deref(),
            Some("http://registry.local:8080"),
            "a request built in a test has no peer (0.0.0.0): not trusted"
        );
        assert_eq!(
            origin_through(&forwarded, true).ok().as_deref(),
            Some("https://registry.example.cn"),
            "the first value, from a trusted proxy"
        );
        assert_eq!(
            origin_through(&req("gopher", "registry.example.cn"), true)
                .ok()
                .as_deref(),
            Some("http://registry.example.cn"),
            "a scheme that is not http(s) is ignored"
        );
        assert!(
            origin_through(&req("https", "user@evil.example"), true).is_err(),
            "a forwarded host is held to what a Host header is"
        );
    }

    #[test]
    fn a_host_that_is_not_a_plain_authority_is_refused() {
        for (host, plain) in [
            ("registry.local", true),
            ("registry.local:8080", true),
            ("[::1]:8080", true),
            ("user@evil.example", false),
            ("evil.example/path", false),
            ("evil example", false),
            ("", false),
        ] {
            assert_eq!(is_plain_authority(host), plain, "{host}");
        }
    }
}
