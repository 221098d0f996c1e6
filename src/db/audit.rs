//! The audit trail: one row per change, written in the transaction of the change.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

use super::StoreResult;
use super::entities::audit_event;

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub label: String,
    pub role: String,
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// A record as the audit trail keeps it, before or after a change.
pub fn snapshot<T: serde::Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    change: Change<'_>,
) -> StoreResult<()> {
    audit_event::ActiveModel {
        at: Set(Utc::now()),
        actor_label: Set(actor.label.clone()),
        actor_role: Set(actor.role.clone()),
        action: Set(change.action.to_owned()),
        entity: Set(change.entity.to_owned()),
        entity_id: Set(change.entity_id),
        before: Set(change.before.map(|v| v.to_string())),
        after: Set(change.after.map(|v| v.to_string())),
        request_id: Set(change.request_id),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// What a listing of audit events is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub actor: Option<String>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
}

fn filtered(filter: &AuditFilter) -> sea_orm::Select<audit_event::Entity> {
    use audit_event::Column;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut q = audit_event::Entity::find();
    if let Some(e) = &filter.entity {
        q = q.filter(Column::Entity.eq(e.clone()));
    }
    if let Some(id) = filter.entity_id {
        q = q.filter(Column::EntityId.eq(id));
    }
    if let Some(a) = &filter.actor {
        q = q.filter(Column::ActorLabel.eq(a.clone()));
    }
    if let Some(t) = filter.from {
        q = q.filter(Column::At.gte(t));
    }
    if let Some(t) = filter.to {
        q = q.filter(Column::At.lte(t));
    }
    q
}

/// A page of events in the order they happened (by id), after or before a cursor id.
pub async fn page(
    conn: &impl ConnectionTrait,
    filter: &AuditFilter,
    after: Option<i64>,
    backward: bool,
    limit: u64,
) -> StoreResult<Vec<audit_event::Model>> {
    use audit_event::Column;
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut q = filtered(filter);
    if let Some(id) = after {
        q = q.filter(if backward {
            Column::Id.lt(id)
        } else {
            Column::Id.gt(id)
        });
    }
    q = if backward {
        q.order_by_desc(Column::Id)
    } else {
        q.order_by_asc(Column::Id)
    };
    Ok(q.limit(limit).all(conn).await?)
}

pub async fn count(conn: &impl ConnectionTrait, filter: &AuditFilter) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(filtered(filter).count(conn).await?)
}
