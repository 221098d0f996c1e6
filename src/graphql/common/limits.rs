//! Query limits, so that every limit error carries `LIMIT_EXCEEDED` with the limit in its
//! message, and parse and validation errors carry `BAD_INPUT`.
//!
//! async-graphql computes a query's depth and complexity during validation (connection
//! fields multiply their children's cost by the page size, see `paging::cost`) and refuses
//! those over the schema's limits; parsing checks its recursion; the aliases are counted here.
//! Over HTTP these checks run around the schema rather than inside it: a schema with any
//! extension sends every field through the extension chain, which cost about a tenth of a
//! township page's throughput, so the HTTP schema has none. The handler calls
//! [`Limits::prepare`], which parses the query once (the schema takes the parsed document and
//! does not parse it again; a text parsed before is not parsed at all, `graphql::documents`)
//! and counts its aliases, and [`Limits::explain`] on the errors the schema returns.
//! Subscriptions over WebSocket are served by async-graphql-poem, which takes a schema and
//! nothing else: theirs carries the same checks as an extension.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    Request, SchemaBuilder, ServerError, ServerResult, ValidationResult, Variables,
};

/// Limits on what one query may ask.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest selection nesting. GraphiQL's introspection query is 13 levels deep.
    pub max_depth: usize,
    /// Highest complexity: one per field, connections times their page size.
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Most directives on one field (`@skip`, `@include`): a thousand repeated ones would each
    /// be evaluated.
    pub max_directives: usize,
    /// Statistics cells under this many assets or households are hidden from anonymous
    /// callers (`MIN_PUBLIC_CELL`).
    pub min_public_cell: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 20_000,
            max_aliases: 50,
            max_directives: 8,
            min_public_cell: crate::domain::statistics::DEFAULT_MIN_PUBLIC_CELL,
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

impl Limits {
    /// Parses `request`'s query, keeping the document in the request, and counts its aliases.
    pub fn prepare(&self, request: &mut Request) -> Result<(), ServerError> {
        let doc = request.parsed_query().map_err(|e| self.explain(e))?;
        self.check_aliases(doc)
    }

    fn check_aliases(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let n = aliases(doc);
        if n > self.max_aliases {
            let message = format!(
                "the query has {n} aliases; the limit is {}",
                self.max_aliases
            );
            return Err(with_code(ServerError::new(message, None), "LIMIT_EXCEEDED"));
        }
        Ok(())
    }

    /// An error of the schema's own checks (parsing, validation, depth, complexity, recursion)
    /// with its code, and for a limit the limit; an error that has a code keeps it.
    pub fn explain(&self, e: ServerError) -> ServerError {
        let exceeded = |message: String| {
            with_code(
                ServerError::new(message, e.locations.first().copied()),
                "LIMIT_EXCEEDED",
            )
        };
        match e.message.as_str() {
            "Query is nested too deep." => exceeded(format!(
                "the query is nested deeper than the limit of {} levels",
                self.max_depth
            )),
            "Query is too complex." => exceeded(format!(
                "the query's complexity (one per field, a connection's fields times its page \
                 size) is above the limit of {}",
                self.max_complexity
            )),
            m if m.contains("recursion depth") => with_code(e, "LIMIT_EXCEEDED"),
            m if m.starts_with("The number of directives on the field") => exceeded(format!(
                "a field carries more than the limit of {} directives",
                self.max_directives
            )),
            _ => with_code(e, "BAD_INPUT"),
        }
    }

    /// Sets the schema's depth, complexity and directive limits.
    pub(crate) fn apply<Q, M, S>(&self, schema: SchemaBuilder<Q, M, S>) -> SchemaBuilder<Q, M, S> {
        schema
            .limit_depth(self.max_depth)
            .limit_complexity(self.max_complexity)
            .limit_directives(self.max_directives)
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension(*self))
    }
}

/// The limits' checks inside a schema, for the transports that take only a schema.
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
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| self.0.explain(e))?;
        self.0.check_aliases(&doc)?;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(|e| self.0.explain(e)).collect())
    }
}
