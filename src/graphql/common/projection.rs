//! The columns an asset listing's selection shows: a township page asks for a code, a kind, a
//! status and a village's name, not for 50 columns of three tables (village boundaries
//! among them). A field's resolver may read only the columns named for it here; a field not
//! named reads whole rows, so a new field is correct before it is fast. The tests in
//! `tests/api/projection.rs` hold every named field's answer to the whole row's.

use async_graphql::SelectionField;

use crate::db::assets::JoinedColumns;
use crate::db::entities::idle_asset::Column as A;
use crate::db::entities::party::Column as P;
use crate::db::entities::village::Column as V;
use crate::db::rows::Columns;

/// What a page of assets reads: the columns of each table, and whether villages and owners are
/// joined into the page's query (when the selection shows either).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssetSelection {
    pub columns: JoinedColumns,
    pub joined: bool,
}

/// The selection of a listing (`field`, a connection of assets): its `nodes` and `edges.node`.
pub fn asset_listing(field: SelectionField<'_>) -> AssetSelection {
    let mut seen = AssetSelection {
        columns: (Columns::NONE, Columns::NONE, Columns::NONE),
        joined: false,
    };
    for f in field.selection_set() {
        match f.name() {
            "nodes" => asset_node(&mut seen, f),
            "edges" => f
                .selection_set()
                .filter(|e| e.name() == "node")
                .for_each(|node| asset_node(&mut seen, node)),
            _ => {}
        }
    }
    seen
}

/// The asset columns the selection of `node` (an IdleAsset, or a list of them) reads, when its
/// village and owner are read by their loaders.
pub fn asset_columns(node: SelectionField<'_>) -> Columns<A> {
    node.selection_set()
        .fold(Columns::NONE, |c, f| c.union(asset_field(f.name())))
}

fn asset_node(seen: &mut AssetSelection, node: SelectionField<'_>) {
    for f in node.selection_set() {
        let (asset, village, owner) = &mut seen.columns;
        *asset = asset.union(asset_field(f.name()));
        match f.name() {
            "village" => {
                seen.joined = true;
                *village = f
                    .selection_set()
                    .fold(*village, |c, f| c.union(village_field(f.name())));
            }
            "owner" => {
                seen.joined = true;
                *owner = f
                    .selection_set()
                    .fold(*owner, |c, f| c.union(party_field(f.name())));
            }
            _ => {}
        }
    }
}

/// The asset columns field `name` of `IdleAsset` reads.
fn asset_field(name: &str) -> Columns<A> {
    match name {
        "__typename" | "distanceMeters" => Columns::NONE,
        "id" | "propertyRights" | "revitalizations" | "history" => Columns::of([A::Id]),
        "code" => Columns::of([A::Code]),
        "kind" => Columns::of([A::Kind]),
        "status" => Columns::of([A::Status]),
        "location" | "longitude" | "latitude" => Columns::of([A::Lon, A::Lat]),
        "footprint" => Columns::of([A::Footprint]),
        "areaSquareMeters" | "perimeterMeters" | "centroid" | "bbox" => {
            Columns::of([A::Lon, A::Lat, A::Footprint])
        }
        "landAreaSquareMeters" => Columns::of([A::LandAreaM2]),
        "floorAreaSquareMeters" => Columns::of([A::FloorAreaM2]),
        "structure" => Columns::of([A::Structure]),
        "yearBuilt" => Columns::of([A::YearBuilt]),
        "condition" => Columns::of([A::Condition]),
        "idleSince" => Columns::of([A::IdleSince]),
        "idleCause" => Columns::of([A::IdleCause]),
        "ownerWillingness" => Columns::of([A::OwnerWillingness]),
        "address" => Columns::of([A::Address]),
        "village" => Columns::of([A::VillageId]),
        "township" => Columns::of([A::TownshipId]),
        "owner" => Columns::of([A::OwnerId]),
        "version" => Columns::of([A::Version]),
        "createdAt" => Columns::of([A::CreatedAt]),
        "updatedAt" => Columns::of([A::UpdatedAt]),
        _ => Columns::ALL,
    }
}

/// The village columns field `name` of `Village` reads; its geometry reads the whole row.
fn village_field(name: &str) -> Columns<V> {
    match name {
        "__typename" => Columns::NONE,
        "id" | "idleAssets" => Columns::of([V::Id]),
        "code" => Columns::of([V::Code]),
        "name" => Columns::of([V::Name]),
        "township" => Columns::of([V::TownshipId]),
        _ => Columns::ALL,
    }
}

/// The party columns field `name` of `Party` reads; its personal data, guarded by the party's
/// village, reads the whole row.
fn party_field(name: &str) -> Columns<P> {
    match name {
        "__typename" => Columns::NONE,
        "id" => Columns::of([P::Id]),
        // Whether the name may be shown depends on the kind (a household's needs a token).
        "name" => Columns::of([P::Kind, P::Name]),
        "kind" => Columns::of([P::Kind]),
        "householdNo" => Columns::of([P::HouseholdNo]),
        "creditCode" => Columns::of([P::CreditCode]),
        "version" => Columns::of([P::Version]),
        _ => Columns::ALL,
    }
}
