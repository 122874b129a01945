//! The physical limit: the same resources' JSON inserted into a bare table of the same engine, one transaction per
//! bundle, with the durability settings the store uses.

use crate::ingest::LoadedBundle;

/// The resources of each bundle, serialised before the clock starts.
fn resource_texts(bundles: &[LoadedBundle]) -> anyhow::Result<Vec<Vec<(String, String)>>> {
    bundles
        .iter()
        .map(|bundle| {
            let json: serde_json::Value = serde_json::from_slice(&bundle.bytes)?;
            Ok(json["entry"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .map(|entry| {
                            let resource = &entry["resource"];
                            (resource["resourceType"].as_str().unwrap_or_default().to_string(), resource.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
        .collect()
}

pub async fn run(location: &str, bundles: &[LoadedBundle]) -> anyhow::Result<f64> {
    let texts = resource_texts(bundles)?;
    let n_resources: usize = texts.iter().map(Vec::len).sum();
    if crate::is_postgres(location) {
        let (mut client, connection) = tokio_postgres::connect(location, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute(
                "CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, resource_type TEXT NOT NULL, body TEXT NOT NULL)",
            )
            .await?;
        let started_inner = std::time::Instant::now();
        for bundle in &texts {
            let transaction = client.transaction().await?;
            let types: Vec<&str> = bundle.iter().map(|(resource_type, _)| resource_type.as_str()).collect();
            let bodies: Vec<&str> = bundle.iter().map(|(_, body)| body.as_str()).collect();
            transaction
                .execute(
                    "INSERT INTO bench_raw (resource_type, body) SELECT * FROM unnest($1::text[], $2::text[])",
                    &[&types, &bodies],
                )
                .await?;
            transaction.commit().await?;
        }
        return Ok(n_resources as f64 / started_inner.elapsed().as_secs_f64());
    }
    let path = std::path::Path::new(location).join("raw.db");
    let _ = std::fs::remove_file(&path);
    let mut connection = rusqlite::Connection::open(&path)?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, \
         resource_type TEXT NOT NULL, body TEXT NOT NULL);",
    )?;
    let started_inner = std::time::Instant::now();
    for bundle in &texts {
        let transaction = connection.transaction()?;
        {
            let mut insert =
                transaction.prepare_cached("INSERT INTO bench_raw (resource_type, body) VALUES (?1, ?2)")?;
            for (resource_type, body) in bundle {
                insert.execute((resource_type, body))?;
            }
        }
        transaction.commit()?;
    }
    Ok(n_resources as f64 / started_inner.elapsed().as_secs_f64())
}
