//! Data in: a township's survey of idle assets from a CSV file, checked row by row with the same
//! domain validation as the mutations, written in one transaction. By default nothing is
//! written when any row fails; `partial` writes the good rows. Every failing row is reported
//! with its row number, column, value, code and message.
//!
//! Columns are matched by header name, in English (as `export` writes them) or Chinese (经度,
//! 纬度, …). The file may be UTF-8, with or without a byte-order mark, or GB18030, which Chinese
//! Excel writes; the encoding is detected unless given.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::entities::party;
use crate::db::{self, StoreError};
use crate::domain::asset::{self, AssetStatus, IdleAssetAttributes, IdleAssetDraft};
use crate::domain::geometry::Area;
use crate::domain::locator::{Locator, Placement};
use crate::export::Kind;

/// How to read the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 if the bytes are UTF-8 (a BOM is dropped), else GB18030.
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

/// What an import may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Write the good rows even when others fail.
    pub partial: bool,
    /// Update the assets whose code exists, instead of reporting the row.
    pub upsert: bool,
    pub encoding: Encoding,
    /// Only rows located in this township (a cadre's import).
    pub only_township: Option<i64>,
}

/// One refused row (or the file itself, as row 0 or 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// Line in the file: 1 is the header.
    pub row: usize,
    pub column: String,
    pub value: String,
    pub code: &'static str,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub errors: Vec<RowError>,
    /// Whether anything was written.
    pub written: bool,
    /// SHA-256 of the file's bytes.
    pub checksum: String,
    /// The file's header and its refused rows, each with the reasons in a last `error`
    /// column: a file to fix and import again (the extra column is ignored on import).
    #[serde(skip)]
    pub rejected_csv: Vec<u8>,
}

impl Report {
    /// The errors as CSV (row, column, value, code, message), for a cadre to fix the file.
    pub fn errors_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["row", "column", "value", "code", "message"]);
        for e in &self.errors {
            let _ = w.write_record([
                e.row.to_string(),
                e.column.clone(),
                e.value.clone(),
                e.code.to_owned(),
                e.message.clone(),
            ]);
        }
        w.into_inner().unwrap_or_default()
    }
}

/// Header names accepted for each column: as `export` writes them, then Chinese aliases.
const ALIASES: &[(&str, &[&str])] = &[
    ("code", &["资产编号", "编号"]),
    ("kind", &["类型", "资产类型"]),
    ("status", &["状态"]),
    ("townshipCode", &["乡镇代码"]),
    ("villageCode", &["村代码", "行政村代码"]),
    ("ownerKey", &["户号", "权利人", "产权人户号"]),
    ("lon", &["经度"]),
    ("lat", &["纬度"]),
    ("footprint", &["占地范围", "图斑"]),
    ("landAreaM2", &["占地面积"]),
    ("floorAreaM2", &["建筑面积"]),
    ("structure", &["结构", "房屋结构"]),
    ("yearBuilt", &["建成年份", "建造年份"]),
    ("condition", &["状况", "房屋状况"]),
    ("idleSince", &["闲置起始日期", "闲置时间"]),
    ("idleCause", &["闲置原因"]),
    ("ownerWillingness", &["盘活意愿", "意愿"]),
    ("address", &["地址"]),
];

const REQUIRED: [&str; 5] = ["code", "kind", "lon", "lat", "ownerKey"];

fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, RowError> {
    let bad = |message: String| RowError {
        row: 0,
        column: String::new(),
        value: String::new(),
        code: "BAD_ENCODING",
        message,
    };
    let utf8 = |b: &[u8]| {
        let b = b.strip_prefix("\u{feff}".as_bytes()).unwrap_or(b);
        std::str::from_utf8(b).map(str::to_owned)
    };
    match encoding {
        Encoding::Utf8 => utf8(bytes).map_err(|e| {
            bad(format!(
                "the file is not UTF-8 (byte {}); try --encoding gb18030",
                e.valid_up_to()
            ))
        }),
        Encoding::Gb18030 => {
            let (text, _, malformed) = encoding_rs::GB18030.decode(bytes);
            if malformed {
                Err(bad("the file is not valid GB18030".into()))
            } else {
                Ok(text.into_owned())
            }
        }
        Encoding::Auto => utf8(bytes).or_else(|_| decode(bytes, Encoding::Gb18030)),
    }
}

/// A row's cells by column name.
struct Cells<'a> {
    row: usize,
    record: &'a csv::StringRecord,
    index: &'a HashMap<&'static str, usize>,
}

impl Cells<'_> {
    fn text(&self, column: &str) -> Option<&str> {
        self.index
            .get(column)
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn error(&self, column: &str, code: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            row: self.row,
            column: column.to_owned(),
            value: self.text(column).unwrap_or_default().to_owned(),
            code,
            message: message.into(),
        }
    }

    fn parse<T: std::str::FromStr>(&self, column: &str, what: &str) -> Result<Option<T>, RowError> {
        self.text(column)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| self.error(column, "BAD_INPUT", format!("not {what}")))
            })
            .transpose()
    }

    fn code<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, crate::domain::UnknownCode>,
    ) -> Result<Option<T>, RowError> {
        self.text(column)
            .map(|v| parse(v).map_err(|e| self.error(column, "BAD_INPUT", e.to_string())))
            .transpose()
    }
}

/// A row checked, ready to write.
struct Checked {
    attrs: IdleAssetAttributes,
    status: AssetStatus,
    owner: i64,
    place: Placement,
}

fn check_row(
    c: &Cells<'_>,
    only_township: Option<i64>,
    today: NaiveDate,
    locator: &Locator,
    owners: &HashMap<String, i64>,
    townships: &HashMap<i64, String>,
) -> Result<Checked, RowError> {
    let number = |column: &str| c.parse::<f64>(column, "a number");
    let lon = number("lon")?.ok_or_else(|| c.error("lon", "BAD_INPUT", "a longitude is needed"))?;
    let lat = number("lat")?.ok_or_else(|| c.error("lat", "BAD_INPUT", "a latitude is needed"))?;
    let footprint = match c.text("footprint") {
        None => None,
        Some(text) => {
            let shape: wkt::Wkt<f64> = text
                .parse()
                .map_err(|e| c.error("footprint", "INVALID_GEOMETRY", format!("not WKT: {e}")))?;
            let shape: geo::Geometry<f64> = shape
                .try_into()
                .map_err(|_| c.error("footprint", "INVALID_GEOMETRY", "not a polygon"))?;
            Some(geojson::Geometry::new(geojson::GeometryValue::from(&shape)))
        }
    };
    let draft = IdleAssetDraft {
        code: c.text("code").unwrap_or_default().to_owned(),
        kind: c.code("kind", asset::AssetKind::parse)?,
        lon,
        lat,
        footprint,
        land_area_m2: number("landAreaM2")?,
        floor_area_m2: number("floorAreaM2")?,
        structure: c.code("structure", asset::Structure::parse)?,
        year_built: c.parse::<i32>("yearBuilt", "a year")?,
        condition: c.code("condition", asset::Condition::parse)?,
        idle_since: c.parse::<NaiveDate>("idleSince", "a date (YYYY-MM-DD)")?,
        idle_cause: c.code("idleCause", asset::IdleCause::parse)?,
        owner_willingness: c.code("ownerWillingness", asset::OwnerWillingness::parse)?,
        address: c.text("address").map(str::to_owned),
    };
    let attrs = draft.validate(today).map_err(|e| {
        let err = crate::error::AppError::from(e);
        c.error("", err.code().as_str(), err.message())
    })?;
    let place = locator.locate(attrs.location).ok_or_else(|| {
        c.error(
            "lon",
            "INVALID_GEOMETRY",
            "the location lies outside every township of the district",
        )
    })?;
    if only_township.is_some_and(|t| t != place.township_id) {
        return Err(c.error(
            "lon",
            "FORBIDDEN",
            "the location lies outside the township this token may change",
        ));
    }
    if let Some(given) = c.text("townshipCode")
        && townships.get(&place.township_id).map(String::as_str) != Some(given)
    {
        return Err(c.error(
            "townshipCode",
            "BAD_INPUT",
            "the location lies in another township than the one named",
        ));
    }
    let owner_key = c.text("ownerKey").unwrap_or_default();
    let owner = *owners.get(owner_key).ok_or_else(|| {
        c.error(
            "ownerKey",
            "BAD_INPUT",
            "no party has this household number or credit code",
        )
    })?;
    let status = c
        .code("status", AssetStatus::parse)?
        .unwrap_or(AssetStatus::Identified);
    Ok(Checked {
        attrs,
        status,
        owner,
        place,
    })
}

/// The header and the refused rows with their reasons.
fn rejected(
    headers: &csv::StringRecord,
    raw: &HashMap<usize, csv::StringRecord>,
    errors: &[RowError],
) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let mut head: Vec<&str> = headers.iter().collect();
    head.push("error");
    let _ = w.write_record(&head);
    let mut rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
    rows.dedup();
    for row in rows {
        let Some(record) = raw.get(&row) else {
            continue;
        };
        let reasons: Vec<String> = errors
            .iter()
            .filter(|e| e.row == row)
            .map(|e| format!("{} {}: {}", e.code, e.column, e.message))
            .collect();
        let mut cells: Vec<&str> = record.iter().collect();
        let reason = reasons.join("; ");
        cells.push(&reason);
        let _ = w.write_record(&cells);
    }
    w.into_inner().unwrap_or_default()
}

fn file_error(code: &'static str, column: &str, message: String) -> RowError {
    RowError {
        row: 1,
        column: column.to_owned(),
        value: String::new(),
        code,
        message,
    }
}

/// Imports idle assets from CSV bytes. `actor` names the importer in the audit trail.
pub async fn assets(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    mode: Mode,
    actor: &db::audit::Actor,
    today: NaiveDate,
    mut progress: impl FnMut(usize),
) -> Result<Report, StoreError> {
    let mut report = Report {
        checksum: hex::encode(Sha256::digest(bytes)),
        ..Report::default()
    };
    let text = match decode(bytes, mode.encoding) {
        Ok(t) => t,
        Err(e) => {
            report.errors.push(e);
            return Ok(report);
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report
                .errors
                .push(file_error("BAD_INPUT", "", format!("no header row: {e}")));
            return Ok(report);
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        if let Some((name, _)) = ALIASES
            .iter()
            .find(|(name, aliases)| *name == h || aliases.contains(&h))
        {
            index.insert(name, i);
        }
    }
    for column in REQUIRED {
        if !index.contains_key(column) {
            report.errors.push(file_error(
                "BAD_INPUT",
                column,
                format!("the file has no `{column}` column"),
            ));
        }
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    debug_assert_eq!(Kind::Assets.columns().len(), ALIASES.len());

    let locator = db::place::locator(db)
        .await
        .map_err(|e| StoreError::from(sea_orm::DbErr::Custom(format!("{e:#}"))))?;
    let rows: Vec<(i64, Option<String>, Option<String>)> = party::Entity::find()
        .select_only()
        .column(party::Column::Id)
        .column(party::Column::HouseholdNo)
        .column(party::Column::CreditCode)
        .into_tuple()
        .all(db)
        .await?;
    let owners: HashMap<String, i64> = rows
        .into_iter()
        .flat_map(|(id, h, c)| [h, c].into_iter().flatten().map(move |k| (k, id)))
        .collect();
    let townships: HashMap<i64, String> = db::place::all_townships(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.code))
        .collect();

    // Check every row first; the file's own footprints are checked against each other too.
    let mut good: Vec<(usize, Checked)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut raw: HashMap<usize, csv::StringRecord> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        let row = n + 2;
        report.rows += 1;
        progress(report.rows);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(RowError {
                    row,
                    column: String::new(),
                    value: String::new(),
                    code: "BAD_INPUT",
                    message: format!("the row cannot be read: {e}"),
                });
                continue;
            }
        };
        raw.insert(row, record.clone());
        let cells = Cells {
            row,
            record: &record,
            index: &index,
        };
        let checked = match check_row(
            &cells,
            mode.only_township,
            today,
            &locator,
            &owners,
            &townships,
        ) {
            Ok(c) => c,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        if !seen.insert(checked.attrs.code.clone()) {
            report.errors.push(cells.error(
                "code",
                "CONFLICT",
                "the code appears twice in the file",
            ));
            continue;
        }
        if let (Some(f), true) = (&checked.attrs.footprint, checked.status.holds_land()) {
            let clash = good.iter().find_map(|(_, other)| {
                let o = other.attrs.footprint.as_ref()?;
                (other.status.holds_land()
                    && asset::check_footprint_overlap(f, [(other.attrs.code.as_str(), o)]).is_err())
                .then(|| other.attrs.code.clone())
            });
            if let Some(code) = clash {
                report.errors.push(cells.error(
                    "footprint",
                    "INVALID_GEOMETRY",
                    format!("the footprint overlaps that of asset {code} in the same file"),
                ));
                continue;
            }
        }
        good.push((row, checked));
    }

    // Then write, in one transaction, checking what only the database knows: a batch of rows
    // at a time, with one lookup of the codes that exist and multi-row INSERTs for the new ones.
    let txn = db::begin_write(db).await?;
    let mut written_rows = 0;
    for chunk in good.chunks(db::asset::INSERT_BATCH) {
        let codes: Vec<&str> = chunk.iter().map(|(_, c)| c.attrs.code.as_str()).collect();
        let existing = db::asset::by_codes(&txn, &codes).await?;
        let mut inserts = Vec::new();
        for (row, c) in chunk {
            let current = existing.get(&c.attrs.code);
            let error = |column: &str, code: &'static str, message: String| RowError {
                row: *row,
                column: column.to_owned(),
                value: c.attrs.code.clone(),
                code,
                message,
            };
            if let Some(f) = &c.attrs.footprint
                && c.status.holds_land()
            {
                let nearby =
                    db::asset::active_footprints_near(&txn, f.bbox(), current.map(|e| e.id))
                        .await?;
                let areas: Vec<(String, Area)> = nearby
                    .into_iter()
                    .filter_map(|(code, text)| {
                        Area::from_geojson_str(&text).ok().map(|a| (code, a))
                    })
                    .collect();
                if let Err(e) =
                    asset::check_footprint_overlap(f, areas.iter().map(|(c, a)| (c.as_str(), a)))
                {
                    report
                        .errors
                        .push(error("footprint", "INVALID_GEOMETRY", e.to_string()));
                    continue;
                }
            }
            match current {
                Some(_) if !mode.upsert => {
                    report.errors.push(error(
                        "code",
                        "CONFLICT",
                        "an asset with this code exists; import with --upsert to update it".into(),
                    ));
                }
                Some(e) => {
                    if e.status != c.status.as_str() {
                        report.errors.push(error(
                            "status",
                            "BAD_INPUT",
                            format!(
                                "the asset is {}; a status changes through its lifecycle, not an import",
                                e.status
                            ),
                        ));
                        continue;
                    }
                    db::asset::update(&txn, e.id, e.version, &c.attrs, c.owner, c.place).await?;
                    report.updated += 1;
                    written_rows += 1;
                }
                None => inserts.push((&c.attrs, c.status, c.owner, c.place)),
            }
        }
        db::asset::insert_many(&txn, &inserts).await?;
        report.inserted += inserts.len();
        written_rows += inserts.len();
    }
    report.errors.sort_by_key(|e| e.row);
    report.rejected_csv = rejected(&headers, &raw, &report.errors);
    if (!report.errors.is_empty() && !mode.partial) || written_rows == 0 {
        report.inserted = 0;
        report.updated = 0;
        txn.rollback().await?;
        return Ok(report);
    }
    db::audit::record(
        &txn,
        actor,
        db::audit::Change {
            action: "import",
            entity: "idle_asset",
            entity_id: None,
            before: None,
            after: serde_json::to_value(serde_json::json!({
                "file": file_name, "checksum": report.checksum, "rows": report.rows,
                "inserted": report.inserted, "updated": report.updated,
                "rejected": report.errors.len(), "partial": mode.partial,
            }))
            .ok(),
            request_id: None,
        },
    )
    .await?;
    txn.commit().await?;
    report.written = true;
    Ok(report)
}
