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
