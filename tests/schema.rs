//! The committed SDL is the code's: regenerate it with `cargo run -- export-schema`.

#[test]
fn committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/schema.graphql"
    ))
    .expect("schema/schema.graphql exists");
    assert!(
        committed == rural_registry::graphql::sdl(),
        "schema/schema.graphql differs from the code: run `cargo run -- export-schema` and commit it"
    );
}

#[test]
fn every_type_field_and_enum_value_is_documented() {
    let sdl = rural_registry::graphql::sdl();
    let mut undocumented = Vec::new();
    let mut previous = "";
    for line in sdl.lines() {
        let t = line.trim();
        let is_member = line.starts_with("  ")
            && !t.is_empty()
            && !t.starts_with('"')
            && t != "}"
            && !t.starts_with('#');
        let is_type = ["type ", "enum ", "input ", "interface ", "scalar "]
            .iter()
            .any(|k| line.starts_with(k));
        if (is_member || is_type) && !previous.ends_with("\"\"\"") && !previous.ends_with('"') {
            undocumented.push(t.to_owned());
        }
        previous = t;
    }
    // async-graphql's own Relay types (PageInfo, edges, connections) document themselves in
    // English; ours must all have a description.
    undocumented.retain(|l| {
        let relay =
            l.starts_with("type ") && (l.ends_with("Connection {") || l.ends_with("Edge {"));
        !relay && !l.starts_with("scalar NaiveDate") && !l.starts_with("scalar DateTime")
    });
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}
