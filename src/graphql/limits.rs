//! Query limits as an extension, so that every limit error carries `LIMIT_EXCEEDED` with the
//! limit in its message, and parse and validation errors carry `BAD_INPUT`.
//!
//! async-graphql computes a query's depth and complexity during validation (connection
//! fields multiply their children's cost by the page size, see `paging::cost`); we compare
//! them here rather than with `Schema::limit_depth`, whose errors have no code.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

/// Limits on what one query may ask.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest selection nesting. GraphiQL's introspection query is 13 levels deep.
    pub max_depth: usize,
    /// Highest complexity: one per field, connections times their page size.
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 20_000,
            max_aliases: 50,
        }
    }
}

/// Aliased fields in a document, fragments counted once each.
fn aliases(doc: &ExecutableDocument) -> usize {
    fn count(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + count(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => count(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    doc.operations
        .iter()
        .map(|(_, op)| count(&op.node.selection_set.node))
        .sum::<usize>()
        + doc
            .fragments
            .values()
            .map(|f| count(&f.node.selection_set.node))
            .sum::<usize>()
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension(*self))
    }
}

struct LimitsExtension(Limits);

pub(crate) fn with_code(mut err: ServerError, code: &str) -> ServerError {
    let mut ext = err.extensions.take().unwrap_or_default();
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    err.extensions = Some(ext);
    err
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await.map_err(|e| {
            let code = if e.message.contains("recursion depth") {
                "LIMIT_EXCEEDED"
            } else {
                "BAD_INPUT"
            };
            with_code(e, code)
        })?;
        let n = aliases(&doc);
        if n > self.0.max_aliases {
            let message = format!(
                "the query has {n} aliases; the limit is {}",
                self.0.max_aliases
            );
            return Err(with_code(ServerError::new(message, None), "LIMIT_EXCEEDED"));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, "BAD_INPUT"))
                .collect::<Vec<_>>()
        })?;
        let limit = |what: &str, value: usize, max: usize| {
            vec![with_code(
                ServerError::new(format!("query {what} is {value}; the limit is {max}"), None),
                "LIMIT_EXCEEDED",
            )]
        };
        if result.depth > self.0.max_depth {
            return Err(limit("depth", result.depth, self.0.max_depth));
        }
        if result.complexity > self.0.max_complexity {
            return Err(limit(
                "complexity",
                result.complexity,
                self.0.max_complexity,
            ));
        }
        Ok(result)
    }
}
