"""The demo district's parties, idle assets and revitalization records in the formats
`rural-registry import` reads, which is how `rural-registry seed` loads them:

    parties.csv            import parties          (the `import --template parties` header)
    assets.geojson         import assets           (a FeatureCollection: a Point per asset, its
                                                    footprint a GeoJSON property, as `export
                                                    assets --format geojson` writes it)
    revitalizations.csv    import revitalizations  (the `import --template revitalizations` header)

townships.geojson and villages.geojson are already FeatureCollections `import townships` and
`import villages` read. `write_*` turn the records generate.py builds into those files; `read_*`
give them back as generate.py built them (for its validation, and for generate_credit.py).

CSV files here are UTF-8 without a byte-order mark, with LF line ends (import reads both);
an empty cell is a null. Standard library only.
"""

import csv
import io
import json
import os

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# The columns of `rural-registry import --template KIND`, in its order.
PARTY_COLUMNS = ["kind", "name", "householdNo", "creditCode", "idNumber", "phone",
                 "villageCode", "townshipCode"]
REVITALIZATION_COLUMNS = ["contractNo", "assetCode", "mode", "endUse", "counterpartyKey",
                          "startDate", "termMonths", "annualRentFen", "investmentFen",
                          "compensationFen", "jobsCreated", "collectiveShare", "operatorShare",
                          "farmerShare"]
# An asset's properties, as generate.py builds them, less lon and lat (the feature's Point).
ASSET_PROPERTIES = ["code", "kind", "ownerKey", "footprint", "floorAreaM2", "structure",
                    "yearBuilt", "condition", "idleSince", "idleCause", "ownerWillingness",
                    "status", "address"]
REVITALIZATION_INTS = ["termMonths", "annualRentFen", "investmentFen", "compensationFen",
                       "jobsCreated"]
SHARES = [("collectiveShare", "collective"), ("operatorShare", "operator"),
          ("farmerShare", "farmer")]


def _path(name):
    return os.path.join(OUT_DIR, name)


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)  # the shortest text that reads back as the same number, as JSON writes it
    return str(v)


def _write_csv(name, columns, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])
    with open(_path(name), "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


def _read_csv(name):
    with open(_path(name), encoding="utf-8", newline="") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]


def write_parties(parties):
    """parties.csv; a party's key is its household number or credit code, which import reads."""
    for p in parties:
        assert p["key"] == (p["householdNo"] or p["creditCode"]), p["key"]
    _write_csv("parties.csv", PARTY_COLUMNS, parties)


def read_parties():
    out = []
    for r in _read_csv("parties.csv"):
        p = {"key": r["householdNo"] or r["creditCode"]}
        p.update({c: r[c] for c in PARTY_COLUMNS if c != "townshipCode"})
        out.append(p)
    return out


def write_revitalizations(records):
    rows = []
    for r in records:
        row = dict(r)
        split = row.pop("revenueSplit")
        for column, part in SHARES:
            row[column] = split[part] if split is not None else None
        rows.append(row)
    _write_csv("revitalizations.csv", REVITALIZATION_COLUMNS, rows)


def read_revitalizations():
    out = []
    for r in _read_csv("revitalizations.csv"):
        for c in REVITALIZATION_INTS:
            r[c] = int(r[c]) if r[c] is not None else None
        shares = [r.pop(column) for column, _ in SHARES]
        r["revenueSplit"] = (
            None if shares[0] is None
            else {part: float(v) for (_, part), v in zip(SHARES, shares)}
        )
        out.append(r)
    return out


def write_assets(assets, dumps):
    """assets.geojson, written with generate.py's `dumps`."""
    features = [
        {
            "type": "Feature",
            "properties": {k: a[k] for k in ASSET_PROPERTIES},
            "geometry": {"type": "Point", "coordinates": [a["lon"], a["lat"]]},
        }
        for a in assets
    ]
    with open(_path("assets.geojson"), "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps({"type": "FeatureCollection", "features": features}) + "\n")


def read_assets():
    with open(_path("assets.geojson"), encoding="utf-8") as f:
        fc = json.load(f)
    out = []
    for feature in fc["features"]:
        a, (lon, lat) = feature["properties"], feature["geometry"]["coordinates"]
        out.append({"code": a["code"], "kind": a["kind"], "ownerKey": a["ownerKey"],
                    "lon": lon, "lat": lat,
                    **{k: a[k] for k in ASSET_PROPERTIES[3:]}})
    return out

