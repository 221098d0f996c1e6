//! Reading an import file: its encoding and checksum in a first pass, then its rows one at a
//! time, from CSV or from a GeoJSON FeatureCollection, as cells named by the kind's columns.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use encoding_rs::{DecoderResult, GB18030, UTF_8};
use sha2::{Digest, Sha256};

use super::RowError;
use crate::domain::datum::Crs;
use crate::domain::geometry::GeometryError;

/// How to read the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 if the bytes are UTF-8 (a BOM is dropped), else GB18030.
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

/// What a column holds in a GeoJSON feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A property.
    Plain,
    /// The longitude of a Point geometry.
    X,
    /// The latitude of a Point geometry.
    Y,
    /// A Polygon or MultiPolygon geometry.
    Shape,
}

/// A column of an import file: its name as `export` writes it, and the names a cadre may use.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// A CSV file without it is refused whole.
    pub required: bool,
    pub role: Role,
}

impl Column {
    pub const fn new(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            aliases,
            required: false,
            role: Role::Plain,
        }
    }

    pub const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    pub const fn role(self, role: Role) -> Self {
        Self { role, ..self }
    }

    fn matches(&self, header: &str) -> bool {
        let h = header.trim();
        self.name.eq_ignore_ascii_case(h) || self.aliases.contains(&h)
    }
}

/// What the first pass found.
pub struct Scan {
    pub checksum: String,
    /// Lines in the file: about the rows to come, for a progress bar.
    pub lines: usize,
    pub encoding: Result<Encoding, RowError>,
}

fn bad_encoding(message: String) -> RowError {
    RowError {
        row: 0,
        column: String::new(),
        value: String::new(),
        code: "BAD_ENCODING",
        message,
        exists: false,
    }
}

/// Reads the file once: its SHA-256, its lines, and which encoding reads it. Returns it
/// rewound.
pub fn scan<R: Read + Seek>(mut input: R, asked: Encoding) -> io::Result<(R, Scan)> {
    let mut hash = Sha256::new();
    let mut lines = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    // UTF-8 is checked across chunk ends: an incomplete character waits for the next chunk.
    let mut pending: Vec<u8> = Vec::new();
    let mut not_utf8_at: Option<usize> = None;
    let mut total = 0;
    loop {
        let n = input.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        let bytes = &chunk[..n];
        total += n;
        hash.update(bytes);
        lines += bytes.iter().filter(|b| **b == b'\n').count();
        if not_utf8_at.is_none() {
            pending.extend_from_slice(bytes);
            match std::str::from_utf8(&pending) {
                Ok(_) => pending.clear(),
                Err(e) if e.error_len().is_none() => {
                    pending.drain(..e.valid_up_to());
                }
                Err(e) => not_utf8_at = Some(total - pending.len() + e.valid_up_to()),
            }
        }
    }
    if not_utf8_at.is_none() && !pending.is_empty() {
        not_utf8_at = Some(total - pending.len());
    }
    input.seek(SeekFrom::Start(0))?;
    let encoding = match (asked, not_utf8_at) {
        (Encoding::Utf8, Some(at)) => Err(bad_encoding(format!(
            "the file is not UTF-8 (byte {at}); try --encoding gb18030"
        ))),
        (Encoding::Utf8 | Encoding::Auto, None) => Ok(Encoding::Utf8),
        (Encoding::Gb18030, _) | (Encoding::Auto, Some(_)) => {
            let mut decoded = Decoded::new(&mut input, Encoding::Gb18030);
            let valid = io::copy(&mut decoded, &mut io::sink());
            input.seek(SeekFrom::Start(0))?;
            match valid {
                Ok(_) => Ok(Encoding::Gb18030),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    Err(bad_encoding(if asked == Encoding::Gb18030 {
                        format!("the file is not valid GB18030: {e}")
                    } else {
                        format!("the file is neither UTF-8 nor GB18030: {e}")
                    }))
                }
                Err(e) => return Err(e),
            }
        }
    };
    Ok((
        input,
        Scan {
            checksum: hex::encode(hash.finalize()),
            lines,
            encoding,
        },
    ))
}

/// The file's text as UTF-8, decoded as it is read; a byte-order mark is dropped.
pub struct Decoded<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    name: &'static str,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    consumed: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Decoded<R> {
    pub fn new(inner: R, encoding: Encoding) -> Self {
        let (decoder, name) = match encoding {
            Encoding::Gb18030 => (GB18030.new_decoder_with_bom_removal(), "GB18030"),
            Encoding::Utf8 | Encoding::Auto => (UTF_8.new_decoder_with_bom_removal(), "UTF-8"),
        };
        Self {
            inner,
            decoder,
            name,
            input: vec![0; 32 * 1024],
            in_start: 0,
            in_end: 0,
            output: vec![0; 128 * 1024],
            out_start: 0,
            out_end: 0,
            consumed: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.consumed += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty => self.done = self.eof,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the bytes before byte {} are not valid {}",
                            self.consumed, self.name
                        ),
                    ));
                }
            }
        }
    }
}

/// One row of the file: its cells by the kind's columns, and as read.
pub struct Row {
    /// Row of a CSV file (1 is the header), feature of a GeoJSON file (1 is the first).
    pub line: usize,
    /// The cells as read, for the file of refused rows.
    pub raw: Vec<String>,
    cells: Vec<Option<String>>,
    present: Vec<bool>,
    columns: &'static [Column],
    crs: Crs,
}

impl Row {
    fn at(&self, column: &str) -> Option<usize> {
        let at = self.columns.iter().position(|c| c.name == column);
        debug_assert!(at.is_some(), "no column {column}");
        at
    }

    /// The cell's text, trimmed; None when empty.
    pub fn text(&self, column: &str) -> Option<&str> {
        self.at(column).and_then(|i| self.cells[i].as_deref())
    }

    /// Whether the file has the column at all (an absent column keeps a stored value).
    pub fn has(&self, column: &str) -> bool {
        self.at(column).is_some_and(|i| self.present[i])
    }

    pub fn error(&self, column: &str, code: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            row: self.line,
            column: column.to_owned(),
            value: self.text(column).unwrap_or_default().to_owned(),
            code,
            message: message.into(),
            exists: false,
        }
    }

    /// The cell's text, which must be there.
    pub fn required(&self, column: &str) -> Result<&str, RowError> {
        self.text(column)
            .ok_or_else(|| self.error(column, "BAD_INPUT", format!("`{column}` is needed")))
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        column: &str,
        what: &str,
    ) -> Result<Option<T>, RowError> {
        self.text(column)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| self.error(column, "BAD_INPUT", format!("not {what}")))
            })
            .transpose()
    }

    pub fn number(&self, column: &str) -> Result<Option<f64>, RowError> {
        self.parse::<f64>(column, "a number")
    }

    pub fn date(&self, column: &str) -> Result<Option<chrono::NaiveDate>, RowError> {
        self.parse(column, "a date (YYYY-MM-DD)")
    }

    /// A code of one of the domain's enumerations.
    pub fn code<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, crate::domain::UnknownCode>,
    ) -> Result<Option<T>, RowError> {
        self.text(column)
            .map(|v| parse(v).map_err(|e| self.error(column, "BAD_INPUT", e.to_string())))
            .transpose()
    }

    /// A point from two columns, both or neither, in WGS84.
    pub fn point(&self, x: &str, y: &str) -> Result<Option<(f64, f64)>, RowError> {
        match (self.number(x)?, self.number(y)?) {
            (Some(lon), Some(lat)) => Ok(Some(self.crs.to_wgs84(lon, lat))),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(self.error(x, "BAD_INPUT", format!("`{y}` needs `{x}`"))),
            (Some(_), None) => Err(self.error(y, "BAD_INPUT", format!("`{x}` needs `{y}`"))),
        }
    }

    /// A geometry, as WKT or GeoJSON text, in WGS84.
    pub fn shape(&self, column: &str) -> Result<Option<geojson::Geometry>, RowError> {
        let Some(text) = self.text(column) else {
            return Ok(None);
        };
        let bad = |why: String| {
            let e = GeometryError::Malformed(why);
            self.error(column, "INVALID_GEOMETRY", e.to_string())
        };
        let geometry = if text.starts_with('{') {
            text.parse::<geojson::Geometry>()
                .map_err(|e| bad(format!("not GeoJSON: {e}")))?
        } else {
            let shape: wkt::Wkt<f64> = text.parse().map_err(|e| bad(format!("not WKT: {e}")))?;
            let shape: geo::Geometry<f64> =
                shape.try_into().map_err(|_| bad("not a geometry".into()))?;
            geojson::Geometry::new(geojson::GeometryValue::from(&shape))
        };
        Ok(Some(self.crs.geometry_to_wgs84(geometry)))
    }
}

/// The rows of a file, CSV or GeoJSON.
pub struct Source<R: Read> {
    inner: Inner<R>,
    crs: Crs,
    finished: bool,
}

enum Inner<R: Read> {
    Csv {
        reader: Box<csv::Reader<BufReader<Decoded<R>>>>,
        index: Vec<Option<usize>>,
        record: csv::StringRecord,
    },
    Geojson {
        features: Box<dyn Iterator<Item = geojson::Result<geojson::Feature>> + Send>,
        count: usize,
    },
}

fn cell(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        other => Some(other.to_string()),
    }
}

impl<R: Read + Send + 'static> Source<R> {
    /// A GeoJSON file starts with `{`; anything else is read as CSV.
    pub fn open(input: R, encoding: Encoding, crs: Crs) -> Self {
        let mut text = BufReader::with_capacity(64 * 1024, Decoded::new(input, encoding));
        let geojson = text.fill_buf().is_ok_and(|b| {
            b.iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| *c == b'{')
        });
        let inner = if geojson {
            Inner::Geojson {
                features: Box::new(geojson::FeatureReader::from_reader(text).features()),
                count: 0,
            }
        } else {
            Inner::Csv {
                reader: Box::new(csv::ReaderBuilder::new().flexible(false).from_reader(text)),
                index: Vec::new(),
                record: csv::StringRecord::new(),
            }
        };
        Self {
            inner,
            crs,
            finished: false,
        }
    }

    /// The header of the file of refused rows; for CSV, the file's own header, checked for the
    /// required columns.
    pub fn header(&mut self, columns: &'static [Column]) -> Result<Vec<String>, Vec<RowError>> {
        match &mut self.inner {
            Inner::Geojson { .. } => Ok(columns.iter().map(|c| c.name.to_owned()).collect()),
            Inner::Csv { reader, index, .. } => {
                let file_error = |code, column: &str, message: String| RowError {
                    row: 1,
                    column: column.to_owned(),
                    value: String::new(),
                    code,
                    message,
                    exists: false,
                };
                let headers = match reader.headers() {
                    Ok(h) => h.clone(),
                    Err(e) => {
                        let code = match e.kind() {
                            csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                                "BAD_ENCODING"
                            }
                            _ => "BAD_INPUT",
                        };
                        return Err(vec![file_error(code, "", format!("no header row: {e}"))]);
                    }
                };
                *index = columns
                    .iter()
                    .map(|c| headers.iter().position(|h| c.matches(h)))
                    .collect();
                let missing: Vec<RowError> = columns
                    .iter()
                    .zip(index.iter())
                    .filter(|(c, at)| c.required && at.is_none())
                    .map(|(c, _)| {
                        file_error(
                            "BAD_INPUT",
                            c.name,
                            format!("the file has no `{}` column", c.name),
                        )
                    })
                    .collect();
                if missing.is_empty() {
                    Ok(headers.iter().map(str::to_owned).collect())
                } else {
                    Err(missing)
                }
            }
        }
    }

    /// The next row, a row that cannot be read, or None at the end.
    pub fn next_row(&mut self, columns: &'static [Column]) -> Option<Result<Row, RowError>> {
        if self.finished {
            return None;
        }
        let crs = self.crs;
        match &mut self.inner {
            Inner::Csv {
                reader,
                index,
                record,
            } => match reader.read_record(record) {
                Ok(false) => None,
                Ok(true) => {
                    // The row as a spreadsheet numbers it: the header is row 1.
                    let line = record.position().map_or(0, |p| p.record() as usize + 1);
                    let cells = index
                        .iter()
                        .map(|at| {
                            at.and_then(|i| record.get(i))
                                .map(str::trim)
                                .filter(|v| !v.is_empty())
                                .map(str::to_owned)
                        })
                        .collect();
                    Some(Ok(Row {
                        line,
                        raw: record.iter().map(str::to_owned).collect(),
                        cells,
                        present: index.iter().map(Option::is_some).collect(),
                        columns,
                        crs,
                    }))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.record() as usize + 1);
                    let (code, message) = match e.kind() {
                        csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                            self.finished = true;
                            ("BAD_ENCODING", format!("the file cannot be read on: {io}"))
                        }
                        csv::ErrorKind::Io(io) => {
                            self.finished = true;
                            ("BAD_INPUT", format!("the file cannot be read on: {io}"))
                        }
                        _ => ("BAD_INPUT", format!("the row cannot be read: {e}")),
                    };
                    Some(Err(RowError {
                        row: line,
                        column: String::new(),
                        value: String::new(),
                        code,
                        message,
                        exists: false,
                    }))
                }
            },
            Inner::Geojson { features, count } => {
                let feature = features.next()?;
                *count += 1;
                let feature = match feature {
                    Ok(f) => f,
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(RowError {
                            row: *count,
                            column: String::new(),
                            value: String::new(),
                            code: "BAD_INPUT",
                            message: format!(
                                "the feature cannot be read, and the file not past it: {e}"
                            ),
                            exists: false,
                        }));
                    }
                };
                Some(Ok(feature_row(*count, &feature, columns, crs)))
            }
        }
    }
}

/// A feature's properties by the kind's columns; its geometry fills the geometry columns the
/// properties leave empty.
fn feature_row(
    line: usize,
    feature: &geojson::Feature,
    columns: &'static [Column],
    crs: Crs,
) -> Row {
    let property = |c: &Column| {
        feature
            .properties
            .as_ref()
            .and_then(|p| p.iter().find(|(k, _)| c.matches(k)).map(|(_, v)| v))
    };
    let mut present: Vec<bool> = columns.iter().map(|c| property(c).is_some()).collect();
    let mut cells: Vec<Option<String>> =
        columns.iter().map(|c| property(c).and_then(cell)).collect();
    if let Some(g) = &feature.geometry {
        for (i, c) in columns.iter().enumerate() {
            let value = match (&g.value, c.role) {
                (geojson::GeometryValue::Point { coordinates }, Role::X) => {
                    coordinates.as_slice().first().map(f64::to_string)
                }
                (geojson::GeometryValue::Point { coordinates }, Role::Y) => {
                    coordinates.as_slice().get(1).map(f64::to_string)
                }
                (
                    geojson::GeometryValue::Polygon { .. }
                    | geojson::GeometryValue::MultiPolygon { .. },
                    Role::Shape,
                ) => serde_json::to_string(g).ok(),
                _ => None,
            };
            if cells[i].is_none() && value.is_some() {
                cells[i] = value;
                present[i] = true;
            }
        }
    }
    Row {
        line,
        raw: cells
            .iter()
            .map(|c| c.clone().unwrap_or_default())
            .collect(),
        cells,
        present,
        columns,
        crs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8], encoding: Encoding) -> io::Result<String> {
        let mut out = String::new();
        Decoded::new(bytes, encoding).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn decoding_drops_the_bom_and_reads_gb18030() {
        assert_eq!(
            decoded("\u{feff}经度".as_bytes(), Encoding::Utf8).unwrap(),
            "经度"
        );
        let gb = GB18030.encode("经度,纬度").0.into_owned();
        assert_eq!(decoded(&gb, Encoding::Gb18030).unwrap(), "经度,纬度");
        assert!(decoded(&gb, Encoding::Utf8).is_err());
    }

    #[test]
    fn the_scan_finds_the_encoding_across_chunk_ends() {
        // A three-byte character split by the 64 KiB chunk boundary is still UTF-8.
        let mut text = "a".repeat(64 * 1024 - 1);
        text.push_str("经度\n");
        let (_, found) = scan(io::Cursor::new(text.into_bytes()), Encoding::Auto).unwrap();
        assert_eq!(found.encoding, Ok(Encoding::Utf8));
        assert_eq!(found.lines, 1);
        let gb = GB18030.encode("经度,纬度\n").0.into_owned();
        let (_, found) = scan(io::Cursor::new(gb.clone()), Encoding::Auto).unwrap();
        assert_eq!(found.encoding, Ok(Encoding::Gb18030));
        let (_, found) = scan(io::Cursor::new(gb), Encoding::Utf8).unwrap();
        assert_eq!(found.encoding.unwrap_err().code, "BAD_ENCODING");
    }
}
