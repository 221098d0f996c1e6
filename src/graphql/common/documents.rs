//! Parsed queries, kept by their text. Clients send the same few texts again and again (a
//! township page, a bank's eligibility check, a map's layer: fixed queries with variables), and
//! parsing one took about a twentieth of a township page's time; copying a kept document
//! costs a fraction of that. What a document may do is still checked at every request: the
//! limits (`Limits::prepare`) and validation run on the copy as on a fresh parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

/// Documents kept at most: enough for every fixed query a deployment's clients send.
const CAPACITY: usize = 256;
/// Longer texts are parsed every time: they are rarely sent twice, and would fill the memory.
const MAX_TEXT: usize = 8 * 1024;

/// Parsed documents by query text. When full, it starts again empty, so that texts sent once
/// (values written into the query) do not keep out the ones sent all day.
#[derive(Default)]
pub struct Documents(Mutex<HashMap<Box<str>, Arc<ExecutableDocument>>>);

impl Documents {
    /// Hands `request` the document parsed from the same text before, if any.
    pub fn fill(&self, request: &mut Request) {
        let kept = self.map().get(request.query.as_str()).cloned();
        if let Some(doc) = kept {
            request.set_parsed_query(ExecutableDocument::clone(&doc));
        }
    }

    /// Keeps `request`'s parsed document, if it has one, for the next request with its text.
    pub fn keep(&self, request: &mut Request) {
        if request.query.len() > MAX_TEXT || self.map().contains_key(request.query.as_str()) {
            return;
        }
        let Ok(doc) = request.parsed_query() else {
            return;
        };
        let doc = Arc::new(doc.clone());
        let mut map = self.map();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(request.query.as_str().into(), doc);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<ExecutableDocument>>> {
        // The map is only read and written whole under the lock: a panic cannot leave it torn.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_document_is_the_one_its_text_parses_to() {
        let documents = Documents::default();
        let text = "query ($n: Int) { townships(first: $n) { nodes { name } } }";
        let mut first = Request::new(text);
        documents.fill(&mut first);
        documents.keep(&mut first);
        let mut again = Request::new(text);
        documents.fill(&mut again);
        let parsed = async_graphql::parser::parse_query(text).expect("parses");
        // Positions are kept too, so errors point where they did.
        assert_eq!(
            format!("{:?}", again.parsed_query().expect("kept")),
            format!("{parsed:?}")
        );

        // Another text is not given the kept document.
        let mut other = Request::new("{ townships(first: 1) { totalCount } }");
        documents.fill(&mut other);
        assert_ne!(
            format!("{:?}", other.parsed_query().expect("parses")),
            format!("{parsed:?}")
        );
    }

    #[test]
    fn a_text_that_does_not_parse_and_a_long_one_are_not_kept() {
        let documents = Documents::default();
        let long = format!("{{ {} }}", "__typename ".repeat(MAX_TEXT / 10));
        for text in ["{ townships(first: ", long.as_str()] {
            let mut request = Request::new(text);
            documents.keep(&mut request);
            assert!(documents.map().is_empty(), "{:.40}", text);
        }
    }

    #[test]
    fn when_full_it_starts_again() {
        let documents = Documents::default();
        for i in 0..=CAPACITY {
            documents.keep(&mut Request::new(format!("{{ a{i}: __typename }}")));
        }
        assert_eq!(documents.map().len(), 1);
    }
}
