//! gzip for clients that take it: whole answers (GraphQL) and streamed ones (exports), so that
//! a township office's sync over a slow link carries a fraction of the bytes.

use std::io::Write as _;

use futures_util::{Stream, StreamExt};
use poem::Request;
use poem::http::{HeaderMap, header};

/// Whether `Accept-Encoding` takes gzip: named (or `*`) with a quality above zero.
pub fn accepted(req: &Request) -> bool {
    takes(req.headers(), "gzip")
}

/// Whether the `Accept-Encoding` lines of `headers` take `coding` (`gzip`, `br`): named, or
/// `*`, with a quality above zero.
pub fn takes(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut pieces = part.split(';').map(str::trim);
            let name = pieces.next().unwrap_or_default();
            let quality = pieces
                .find_map(|p| p.strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            (name.eq_ignore_ascii_case(coding) || name == "*") && quality.is_some_and(|q| q > 0.0)
        })
}

fn encoder() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())
}

/// `bytes` gzipped.
pub fn whole(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = encoder();
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// A stream of chunks gzipped as it goes: each chunk is flushed through, so a client reads
/// the rows of a page as soon as it is sent, and memory stays that of one chunk.
pub fn stream<S>(chunks: S) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static
where
    S: Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
{
    let start = Some((Box::pin(chunks), encoder()));
    futures_util::stream::unfold(start, |state| async move {
        let (mut chunks, mut encoder) = state?;
        loop {
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    if let Err(e) = encoder.write_all(&chunk).and_then(|()| encoder.flush()) {
                        return Some((Err(e), None));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Some((Ok(out), Some((chunks, encoder))));
                    }
                }
                Some(Err(e)) => return Some((Err(e), None)),
                None => return Some((encoder.finish(), None)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[tokio::test]
    async fn a_stream_gzipped_chunk_by_chunk_reads_back_whole() {
        let pages: Vec<Vec<u8>> = (0..50)
            .map(|n| format!("row {n},a,b,c\r\n").repeat(20).into_bytes())
            .collect();
        let plain = pages.concat();
        let chunks: Vec<std::io::Result<Vec<u8>>> = pages.into_iter().map(Ok).collect();
        let gzipped: Vec<u8> = stream(futures_util::stream::iter(chunks))
            .map(|c| c.unwrap_or_default())
            .concat()
            .await;
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..])
            .read_to_end(&mut back)
            .unwrap_or_default();
        assert_eq!(back, plain);
        assert!(gzipped.len() < plain.len() / 4);
    }

    #[test]
    fn gzip_is_taken_when_named_with_a_quality_above_zero() {
        let with = |v: &str| {
            let req = Request::builder()
                .header(header::ACCEPT_ENCODING, v)
                .finish();
            accepted(&req)
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepted(&Request::builder().finish()));
    }

    #[test]
    fn brotli_is_taken_on_its_own_terms() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, v.parse().expect("a header"));
            h
        };
        assert!(takes(&headers("gzip, deflate, br"), "br"));
        assert!(takes(&headers("gzip, deflate, br, zstd"), "gzip"));
        assert!(!takes(&headers("gzip;q=0.8"), "br"));
        assert!(!takes(&headers("br;q=0, gzip"), "br"));
        assert!(takes(&headers("br;q=0, gzip"), "gzip"));
        assert!(!takes(&HeaderMap::new(), "br"));
    }
}
