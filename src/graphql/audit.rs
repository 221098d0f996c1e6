//! The audit trail (审计记录): who changed what, before and after.

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::audit::AuditFilter;
use crate::db::entities::audit_event;
use crate::error::AppError;
use crate::graphql::common::context::{caller, db_conn};
use crate::graphql::common::paging::{ListTotal, PageRequest, encode_cursor};
use crate::graphql::common::scalars::GeoJson as Json;

/// One change to the registry (审计事件), written in the same transaction as the change.
pub struct AuditEvent(pub audit_event::Model);

/// One change to the registry (审计事件), written in the same transaction as the change.
#[Object]
impl AuditEvent {
    /// When (时间).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The label of the token that made the change (操作人).
    async fn actor_label(&self) -> &str {
        &self.0.actor_label
    }

    /// The role of that token (角色), or SYSTEM for the demo loading.
    async fn actor_role(&self) -> &str {
        &self.0.actor_role
    }

    /// What was done (操作), e.g. registerIdleAsset.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The table of the record changed (对象类型), e.g. idle_asset.
    async fn entity(&self) -> &str {
        &self.0.entity
    }

    /// The database id of the record changed (对象编号).
    async fn entity_id(&self) -> Option<i64> {
        self.0.entity_id
    }

    /// The record before the change, as JSON (变更前); null for a creation.
    async fn before(&self) -> Option<Json> {
        self.0
            .before
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .map(Json)
    }

    /// The record after the change, as JSON (变更后).
    async fn after(&self) -> Option<Json> {
        self.0
            .after
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .map(Json)
    }

    /// The id of the HTTP request that made it (请求编号), also sent as `X-Request-Id`.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

/// Narrows the audit trail (审计筛选).
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// The table of the record, e.g. idle_asset, party (对象类型).
    pub entity: Option<String>,
    /// The database id of the record (对象编号).
    pub entity_id: Option<i64>,
    /// The token label of who made the change (操作人).
    pub actor: Option<String>,
    /// At or after (起始时间).
    pub from: Option<DateTime<Utc>>,
    /// At or before (截止时间).
    pub to: Option<DateTime<Utc>>,
}

impl From<AuditEventFilter> for AuditFilter {
    fn from(f: AuditEventFilter) -> Self {
        Self {
            entity: f.entity,
            entity_id: f.entity_id,
            actor: f.actor,
            from: f.from,
            to: f.to,
        }
    }
}

/// A page of the audit trail, oldest first.
pub async fn audit_connection(
    ctx: &Context<'_>,
    filter: AuditFilter,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Connection<String, AuditEvent, ListTotal>> {
    let page = PageRequest::new("ID", first, after, last, before)?;
    let rows = db::audit::page(
        db_conn(ctx)?,
        &filter,
        page.after_id(),
        page.backward,
        page.fetch(),
    )
    .await?;
    Ok(page.connection(
        rows,
        |e| encode_cursor("ID", "", e.id),
        AuditEvent,
        ListTotal::AuditEvents(Box::new(filter)),
    ))
}

/// The history of one record.
pub fn history_of(entity: &str, id: i64) -> AuditFilter {
    AuditFilter {
        entity: Some(entity.to_owned()),
        entity_id: Some(id),
        ..Default::default()
    }
}

/// The audit trail (审计记录).
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail of the whole registry, oldest first (审计记录): for the district office.
    #[graphql(complexity = "crate::graphql::common::paging::cost(first, last, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, AuditEvent, ListTotal>> {
        caller(ctx)
            .may_administer("the audit trail")
            .map_err(AppError::from)?;
        audit_connection(
            ctx,
            filter.unwrap_or_default().into(),
            first,
            after,
            last,
            before,
        )
        .await
    }
}
