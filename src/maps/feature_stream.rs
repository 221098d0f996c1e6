//! A GeoJSON FeatureCollection written as a stream, a page of features at a time, so that a
//! file of a million features never sits in memory: the downloads of map layers and the
//! GeoJSON exports both write theirs with it.

use futures_util::stream::{self, Stream, StreamExt as _};
use serde_json::Value;

const OPEN: &[u8] = b"{\"type\":\"FeatureCollection\",\"features\":[";
const CLOSE: &[u8] = b"]}\n";

/// The FeatureCollection holding the features of every page in order, as byte chunks: the
/// opening, then one chunk per page (none for a page without features), then the closing. An
/// error from `pages` takes its page's place; whoever reads the stream stops there (an HTTP
/// body is cut off, an export file is left unfinished).
pub fn feature_collection<S>(
    pages: S,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static
where
    S: Stream<Item = Result<Vec<Value>, std::io::Error>> + Send + 'static,
{
    let mut written = false;
    let features = pages.map(move |page| {
        let mut out = Vec::new();
        for feature in page? {
            if written {
                out.push(b',');
            }
            written = true;
            // Writing a JSON value to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &feature);
        }
        Ok(out)
    });
    stream::iter([Ok(OPEN.to_vec())])
        .chain(features)
        .chain(stream::iter([Ok(CLOSE.to_vec())]))
        .filter(|chunk| std::future::ready(!matches!(chunk, Ok(bytes) if bytes.is_empty())))
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt as _;
    use serde_json::json;

    use super::*;

    async fn written(pages: Vec<Vec<Value>>) -> (Vec<Vec<u8>>, String) {
        let chunks: Vec<Vec<u8>> = feature_collection(stream::iter(pages.into_iter().map(Ok)))
            .try_collect()
            .await
            .expect("no error");
        let text = String::from_utf8(chunks.concat()).expect("UTF-8");
        (chunks, text)
    }

    #[tokio::test]
    async fn features_across_pages_are_one_comma_separated_array() {
        let f = |n: i64| json!({ "type": "Feature", "id": n, "geometry": null, "properties": {} });
        let (chunks, text) = written(vec![vec![f(1), f(2)], vec![], vec![f(3)]]).await;
        assert_eq!(chunks.len(), 4, "opening, two pages with features, closing");
        let parsed: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            parsed,
            json!({ "type": "FeatureCollection", "features": [f(1), f(2), f(3)] })
        );
        assert!(text.starts_with("{\"type\":\"FeatureCollection\",\"features\":[{"));
        assert!(text.ends_with("}]}\n"));
    }

    #[tokio::test]
    async fn without_features_the_collection_is_empty() {
        let (_, text) = written(vec![vec![], vec![]]).await;
        assert_eq!(text, "{\"type\":\"FeatureCollection\",\"features\":[]}\n");
    }

    #[tokio::test]
    async fn an_error_takes_the_place_of_its_page() {
        let pages = stream::iter([
            Ok(vec![json!({ "type": "Feature" })]),
            Err(std::io::Error::other("the database went away")),
        ]);
        let chunks: Vec<_> = feature_collection(pages).collect().await;
        assert!(chunks[1].is_ok());
        assert!(chunks[2].is_err());
    }
}
