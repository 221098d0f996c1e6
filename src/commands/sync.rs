//! `sync`: keep an office copy of the district's registry (办公室副本), as the token given may
//! see it, by reading the district server's change feed.
//!
//! The first sync takes the feed's cursor (`changeCursor`), then each kind's export as the
//! token sees it (`/export/KIND.csv`, personal fields by the token's rights), imported here with
//! `upsert`. Each later sync reads the feed on from the cursor it kept: for each kind that
//! changed, only the changed records (`/export/KIND.csv?changedAfter=CURSOR`), imported the
//! same way; for a kind with a deletion, the whole export, and the local records it no longer
//! holds are deleted. The cursor is kept, with the source and the time, only once everything
//! before it is in: a sync cut off at any point repeats at most what it had done, and imports
//! are upserts, so repeating changes nothing. Changes that commit while a sync runs are in its
//! exports or in the next sync's feed, or both.
//!
//! Followed: townships, villages, parties, idle assets, revitalizations, the "three changes"
//! (三变) register (organisations, share classes, members, open holdings) and targets. Holdings
//! are always taken whole: a holding closed at the district leaves the export without a
//! deletion in the feed, so those the copy holds and the district no longer lists are removed
//! here (the copy keeps the open holdings, not their history).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Cursor;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rural_registry::db::{self, sync_state::SyncState};
use rural_registry::domain::shares::Shares;
use rural_registry::services::export::Kind;
use rural_registry::services::import::{self, Mode};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{Value, json};

/// The kinds a copy follows, in the order they import (each names records of the ones before).
const KINDS: [Kind; 10] = [
    Kind::Townships,
    Kind::Villages,
    Kind::Parties,
    Kind::Assets,
    Kind::Revitalizations,
    Kind::Organizations,
    Kind::ShareClasses,
    Kind::Members,
    Kind::Holdings,
    Kind::Targets,
];

/// The feed's entity for a kind (`ChangeEntity`).
fn entity(kind: Kind) -> &'static str {
    match kind {
        Kind::Townships => "TOWNSHIP",
        Kind::Villages => "VILLAGE",
        Kind::Parties => "PARTY",
        Kind::Assets => "IDLE_ASSET",
        Kind::Revitalizations => "REVITALIZATION",
        Kind::Organizations => "ORGANIZATION",
        Kind::ShareClasses => "SHARE_CLASS",
        Kind::Members => "MEMBER",
        Kind::Holdings => "SHARE_HOLDING",
        Kind::Targets => "TARGET",
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The district server, e.g. `https://registry.example.cn`.
    #[arg(long)]
    pub from: String,
    /// A token of the district server: the copy holds what it may see.
    #[arg(long, env = "SYNC_TOKEN")]
    pub token: String,
}

/// The district server, as this sync calls it.
struct Source {
    client: reqwest::Client,
    base: String,
    token: String,
    /// Bytes received, gzipped as they came: the feed and the exports.
    feed_bytes: std::cell::Cell<usize>,
    export_bytes: std::cell::Cell<usize>,
}

impl Source {
    async fn graphql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT_ENCODING, "gzip")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .with_context(|| format!("calling {}/graphql", self.base))?;
        let status = response.status();
        let gzipped = is_gzip(&response);
        let bytes = response.bytes().await?;
        self.feed_bytes.set(self.feed_bytes.get() + bytes.len());
        let text = if gzipped {
            gunzip(&bytes).with_context(|| format!("{}/graphql", self.base))?
        } else {
            bytes.to_vec()
        };
        let body: Value = serde_json::from_slice(&text)
            .with_context(|| format!("{}/graphql answered {status} without JSON", self.base))?;
        if let Some(error) = body["errors"].get(0) {
            bail!(
                "{}/graphql: {} {}",
                self.base,
                error["extensions"]["code"].as_str().unwrap_or("ERROR"),
                error["message"].as_str().unwrap_or_default()
            );
        }
        Ok(body["data"].clone())
    }

    /// A kind's export as the token sees it, whole or changed after `cursor`.
    async fn export(&self, kind: Kind, after: Option<&str>) -> anyhow::Result<Vec<u8>> {
        let mut request = self
            .client
            .get(format!("{}/export/{}.csv", self.base, kind.name()))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT_ENCODING, "gzip");
        if let Some(cursor) = after {
            request = request.query(&[("changedAfter", cursor)]);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("downloading the {} export", kind.name()))?;
        let status = response.status();
        let gzipped = is_gzip(&response);
        let bytes = response.bytes().await?;
        self.export_bytes.set(self.export_bytes.get() + bytes.len());
        let bytes = if gzipped {
            gunzip(&bytes).with_context(|| format!("the {} export", kind.name()))?
        } else {
            bytes.to_vec()
        };
        if !status.is_success() {
            bail!(
                "{}/export/{}.csv answered {status}: {}",
                self.base,
                kind.name(),
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(bytes)
    }
}

fn is_gzip(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out)
        .context("a broken gzip stream")?;
    Ok(out)
}

/// What the feed says changed after a cursor: the kinds with changes, those with deletions, and
/// the cursor up to which it was read.
struct Changed {
    kinds: BTreeSet<&'static str>,
    deleted: BTreeSet<&'static str>,
    end: String,
}

async fn changed_since(source: &Source, after: &str) -> anyhow::Result<Changed> {
    const PAGE: &str = "query ($after: String, $e: [ChangeEntity!]) { changes(after: $after, entities: $e, first: 1000) { endCursor hasMore changes { entity kind } } }";
    let entities: Vec<&str> = KINDS.iter().map(|k| entity(*k)).collect();
    let mut changed = Changed {
        kinds: BTreeSet::new(),
        deleted: BTreeSet::new(),
        end: after.to_owned(),
    };
    loop {
        let data = source
            .graphql(PAGE, json!({ "after": changed.end, "e": entities }))
            .await?;
        let page = &data["changes"];
        for change in page["changes"].as_array().into_iter().flatten() {
            let Some(name) = entities.iter().find(|e| change["entity"] == **e) else {
                continue;
            };
            changed.kinds.insert(name);
            if change["kind"] == "DELETED" {
                changed.deleted.insert(name);
            }
        }
        changed.end = page["endCursor"]
            .as_str()
            .context("the feed gave no endCursor")?
            .to_owned();
        if page["hasMore"] != true {
            return Ok(changed);
        }
    }
}

/// Imports an export here, updating what exists; refused rows stop the sync.
async fn apply(
    conn: &DatabaseConnection,
    kind: Kind,
    file: Vec<u8>,
    from: &str,
) -> anyhow::Result<usize> {
    let actor = db::audit::Actor {
        label: format!("sync from {from}"),
        role: "ADMIN".into(),
    };
    let name = format!("{from}/export/{}.csv", kind.name());
    let who = import::Importing {
        actor: &actor,
        file_name: &name,
        today: chrono::Local::now().date_naive(),
        job: None,
    };
    let mode = Mode {
        upsert: true,
        ..Mode::default()
    };
    let report = import::run(conn, kind, Cursor::new(file), mode, who, |_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("importing {}: {e:?}", kind.name()))?;
    if let Some(e) = report.errors.first() {
        bail!(
            "the {} export did not import here ({} rows refused; the first, row {}: {} {} {:?}: {})",
            kind.name(),
            report.errors.len(),
            e.row,
            e.code,
            e.column,
            e.value,
            e.message
        );
    }
    Ok(report.inserted + report.updated)
}

/// The first column's values of a CSV export: each record's natural key (the four key columns
/// of a target).
fn keys(kind: Kind, csv_bytes: &[u8]) -> anyhow::Result<HashSet<Vec<String>>> {
    let width = if kind == Kind::Targets { 4 } else { 1 };
    let text = std::str::from_utf8(csv_bytes)?.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| Ok(r?.iter().take(width).map(str::to_owned).collect()))
        .collect()
}

/// Removes here the open holdings the district's `file` (its whole holdings export) no longer
/// lists, with the changes that opened them when nothing else names those; returns how many.
async fn remove_holdings(conn: &DatabaseConnection, file: &[u8]) -> anyhow::Result<usize> {
    let mut remote: HashMap<Vec<String>, usize> = HashMap::new();
    for row in rows(file)? {
        *remote.entry(row).or_default() += 1;
    }
    let local = local_export(conn, Kind::Holdings).await?;
    let mut gone = Vec::new();
    for row in rows(&local)? {
        match remote.get_mut(&row) {
            Some(n) if *n > 0 => *n -= 1,
            _ => gone.push(row),
        }
    }
    if gone.is_empty() {
        return Ok(0);
    }
    let backend = conn.get_database_backend();
    let sql = |text: &str| match backend {
        sea_orm::DbBackend::Postgres => text.to_owned(),
        _ => {
            let mut out = text.to_owned();
            for n in (1..=6).rev() {
                out = out.replace(&format!("${n}"), "?");
            }
            out
        }
    };
    let txn = conn.begin().await?;
    for row in &gone {
        let [
            organization,
            holder,
            class,
            shares,
            certificate,
            valid_from,
            _document,
        ] = row.as_slice()
        else {
            bail!("a holdings export row has {} columns, not 7", row.len());
        };
        let shares = Shares::parse(shares)
            .with_context(|| format!("the shares of holding {row:?}"))?
            .hundredths();
        let valid_from: chrono::NaiveDate = valid_from
            .parse()
            .with_context(|| format!("the date of holding {row:?}"))?;
        let values: Vec<sea_orm::Value> = vec![
            organization.clone().into(),
            holder.clone().into(),
            class.clone().into(),
            shares.into(),
            valid_from.into(),
            certificate.clone().into(),
        ];
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql(
                "DELETE FROM share_holding WHERE id = (SELECT h.id FROM share_holding h \
                 JOIN collective_organization o ON o.id = h.organization_id \
                 JOIN party op ON op.id = o.party_id \
                 JOIN share_class c ON c.id = h.class_id \
                 LEFT JOIN party hp ON hp.id = h.holder_party_id \
                 WHERE h.valid_to IS NULL \
                 AND COALESCE(op.household_no, op.credit_code) = $1 \
                 AND COALESCE(hp.household_no, hp.credit_code, '') = $2 \
                 AND c.name = $3 AND h.shares_hundredths = $4 AND h.valid_from = $5 \
                 AND COALESCE(h.certificate_no, '') = $6 \
                 ORDER BY h.id DESC LIMIT 1)",
            ),
            values,
        ))
        .await
        .with_context(|| format!("removing holding {row:?}, closed at the district"))?;
    }
    txn.execute_unprepared(
        "DELETE FROM share_change WHERE NOT EXISTS (SELECT 1 FROM share_holding h \
         WHERE h.opened_by = share_change.id OR h.closed_by = share_change.id) \
         AND NOT EXISTS (SELECT 1 FROM share_contribution c WHERE c.change_id = share_change.id)",
    )
    .await?;
    txn.commit().await?;
    Ok(gone.len())
}

/// A CSV export's records, each as its cells.
fn rows(csv_bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    let text = std::str::from_utf8(csv_bytes)?.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| Ok(r?.iter().map(str::to_owned).collect()))
        .collect()
}

/// This database's own export of `kind`, whole, as the district office sees it.
async fn local_export(conn: &DatabaseConnection, kind: Kind) -> anyhow::Result<Vec<u8>> {
    let mut local = Vec::new();
    let options = rural_registry::services::export::Options {
        kind,
        format: rural_registry::services::export::Format::Csv,
        township_id: None,
        crs: rural_registry::domain::datum::Crs::Wgs84,
        encoding: rural_registry::services::export::Encoding::Utf8,
        caller: super::export::district_office(),
        only: None,
    };
    let mut chunks = std::pin::pin!(rural_registry::services::export::stream(
        conn.clone(),
        options
    ));
    while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
        local.extend(chunk?);
    }
    Ok(local)
}

/// Deletes here the records of `kind` whose keys the district no longer holds.
async fn remove_missing(
    conn: &DatabaseConnection,
    kind: Kind,
    remote: &HashSet<Vec<String>>,
) -> anyhow::Result<usize> {
    let local = local_export(conn, kind).await?;
    let gone: Vec<Vec<String>> = keys(kind, &local)?
        .into_iter()
        .filter(|k| !remote.contains(k))
        .collect();
    let backend = conn.get_database_backend();
    let mark = |n: usize| match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    for key in &gone {
        let (sql, values): (String, Vec<sea_orm::Value>) = match kind {
            Kind::Townships => (
                format!("DELETE FROM township WHERE code = {}", mark(1)),
                vec![key[0].clone().into()],
            ),
            Kind::Villages => (
                format!("DELETE FROM village WHERE code = {}", mark(1)),
                vec![key[0].clone().into()],
            ),
            Kind::Parties => (
                format!(
                    "DELETE FROM party WHERE household_no = {} OR credit_code = {}",
                    mark(1),
                    mark(2)
                ),
                vec![key[0].clone().into(), key[0].clone().into()],
            ),
            Kind::Assets => (
                format!("DELETE FROM idle_asset WHERE code = {}", mark(1)),
                vec![key[0].clone().into()],
            ),
            Kind::Revitalizations => (
                format!("DELETE FROM revitalization WHERE contract_no = {}", mark(1)),
                vec![key[0].clone().into()],
            ),
            Kind::Targets => (
                format!(
                    "DELETE FROM target WHERE year = {} AND measure = {} AND scope_key = \
                     COALESCE((SELECT 'V' || id FROM village WHERE code = {}), \
                     (SELECT 'T' || id FROM township WHERE code = {}), 'DISTRICT')",
                    mark(1),
                    mark(2),
                    mark(3),
                    mark(4)
                ),
                vec![
                    key[0].parse::<i32>().unwrap_or_default().into(),
                    key[3].clone().into(),
                    key[2].clone().into(),
                    key[1].clone().into(),
                ],
            ),
            Kind::Organizations | Kind::ShareClasses | Kind::Members | Kind::Holdings => {
                bail!("{} are never deleted at the district", kind.name())
            }
        };
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .with_context(|| format!("deleting {} {key:?}, gone from the district", kind.name()))?;
    }
    Ok(gone.len())
}

pub async fn run(database_url: &str, args: Args) -> anyhow::Result<()> {
    let base = args.from.trim_end_matches('/').to_owned();
    let conn = super::open(database_url).await?;
    let source = Source {
        client: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .build()?,
        base: base.clone(),
        token: args.token,
        feed_bytes: std::cell::Cell::new(0),
        export_bytes: std::cell::Cell::new(0),
    };
    let state = db::sync_state::get(&conn).await?;
    if let Some(state) = &state
        && state.source != base
    {
        bail!(
            "this database is a copy of {}, not of {base}: sync it from there, or into another \
             database",
            state.source
        );
    }
    // Where the feed stands before anything is read: every change before it is in what follows.
    let head = source.graphql("{ changeCursor }", json!({})).await?["changeCursor"]
        .as_str()
        .context("no changeCursor")?
        .to_owned();
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    let (changed, deleted, cursor) = match &state {
        None => {
            whole.extend(KINDS.iter().map(|k| entity(*k)));
            (whole.clone(), BTreeSet::new(), head)
        }
        Some(state) => match changed_since(&source, &state.cursor).await {
            Ok(c) => (c.kinds, c.deleted, c.end),
            Err(e) if format!("{e}").contains("CURSOR_EXPIRED") => {
                eprintln!("the copy is older than the changes the district keeps: syncing in full");
                whole.extend(KINDS.iter().map(|k| entity(*k)));
                (whole.clone(), whole.clone(), head)
            }
            Err(e) => return Err(e),
        },
    };
    let after = state.as_ref().map(|s| s.cursor.clone());
    let mut remote_keys = Vec::new();
    // Holdings are taken whole: the export lists the open ones, and a holding closed at the
    // district (transferred, inherited, redeemed) closes no record here by itself. Those gone
    // are removed before members are written (a member who left holds nothing) and before new
    // ones are issued (a class never holds more than it issued).
    let mut holdings = None;
    for kind in KINDS {
        let name = entity(kind);
        if matches!(kind, Kind::Members | Kind::Holdings)
            && holdings.is_none()
            && changed.contains(entity(Kind::Holdings))
        {
            let file = source.export(Kind::Holdings, None).await?;
            let removed = remove_holdings(&conn, &file).await?;
            if removed > 0 {
                eprintln!("holdings: {removed} closed at the district, removed");
            }
            holdings = Some(file);
        }
        if !changed.contains(name) {
            continue;
        }
        let full = whole.contains(name) || deleted.contains(name);
        let file = match (kind, holdings.take()) {
            (Kind::Holdings, Some(file)) => file,
            (_, taken) => {
                holdings = taken;
                source
                    .export(kind, if full { None } else { after.as_deref() })
                    .await?
            }
        };
        if deleted.contains(name) {
            remote_keys.push((kind, keys(kind, &file)?));
        }
        let bytes = file.len();
        let written = apply(&conn, kind, file, &base).await?;
        eprintln!("{}: {written} written from {bytes} bytes", kind.name());
    }
    // Deletions last, records that name others first.
    for (kind, remote) in remote_keys.into_iter().rev() {
        let removed = remove_missing(&conn, kind, &remote).await?;
        if removed > 0 {
            eprintln!("{}: {removed} deleted, as at the district", kind.name());
        }
    }
    db::sync_state::set(
        &conn,
        &SyncState {
            source: base.clone(),
            cursor,
            synced_at: chrono::Utc::now(),
        },
    )
    .await?;
    println!(
        "synced from {base}: {} bytes of the change feed, {} bytes of exports",
        source.feed_bytes.get(),
        source.export_bytes.get()
    );
    Ok(())
}
