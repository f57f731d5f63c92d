//! The tamper-evident audit trail: each row stores the SHA-256 of its record and a chain
//! hash over the previous row's hash, so changing, removing or reordering any row breaks
//! every hash after it. Rows are appended inside the transaction whose effect they record.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::{AuditHead, AuditTrail, Result, Verdict, from_micros, micros, sha256_hex};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn chain_hash(seq: i64, at: i64, content_hash: &str, prev_hash: &str) -> String {
    sha256_hex(format!("{seq}\n{at}\n{content_hash}\n{prev_hash}").as_bytes())
}

/// Appends one record; call it inside the transaction that makes the change.
pub(crate) fn append(conn: &Connection, now: Timestamp, record: &serde_json::Value) -> Result<()> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_string()), |(s, h)| (s + 1, h));
    let text = record.to_string();
    let content_hash = sha256_hex(text.as_bytes());
    let at = micros(now);
    let hash = chain_hash(seq, at, &content_hash, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, record, content_hash, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![seq, at, text, content_hash, prev_hash, hash])?;
    Ok(())
}

/// Walks the whole chain from the first record and reports the first break.
pub fn verify(conn: &Connection, anchor: Option<&AuditHead>) -> Result<Verdict> {
    let recorded: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| r.get(0)).optional()?;
    let recorded = recorded.as_deref().and_then(AuditHead::parse);
    let heads: Vec<(&AuditHead, &str)> =
        [(recorded.as_ref(), "the head the store recorded"), (anchor, "the anchor")]
            .into_iter()
            .filter_map(|(h, what)| h.map(|h| (h, what)))
            .collect();
    let walked = walk(conn, &heads)?;
    let Verdict::Ok { records } = walked else { return Ok(walked) };
    let last = i64::try_from(records).unwrap_or(i64::MAX);
    for (head, what) in heads {
        if head.seq > last {
            return Ok(Verdict::Broken {
                seq: last + 1,
                problem: format!(
                    "the chain ends at record {last}, but {what} is record {}: records at the end are missing",
                    head.seq
                ),
            });
        }
    }
    Ok(walked)
}

/// Walks the chain; a record that one of `heads` names must have the hash it names.
fn walk(conn: &Connection, heads: &[(&AuditHead, &str)]) -> Result<Verdict> {
    let mut stmt =
        conn.prepare("SELECT seq, at, record, content_hash, prev_hash, hash FROM audit ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at: i64 = row.get(1)?;
        let record: Vec<u8> = match row.get_ref(2)? {
            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.to_vec(),
            _ => Vec::new(),
        };
        let content_hash: String = row.get(3)?;
        let prev_hash: String = row.get(4)?;
        let hash: String = row.get(5)?;
        let problem = if seq != expected_seq {
            Some(format!("expected record {expected_seq} here: records are missing"))
        } else if sha256_hex(&record) != content_hash {
            Some("its content does not match its content hash".to_string())
        } else if prev_hash != prev {
            Some("it does not link to the record before it".to_string())
        } else if chain_hash(seq, at, &content_hash, &prev_hash) != hash {
            Some("its chain hash is wrong".to_string())
        } else if let Some((_, what)) = heads.iter().find(|(h, _)| h.seq == seq && h.hash != hash) {
            Some(format!("it is not the record {what} names"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(Verdict::Broken { seq, problem });
        }
        prev = hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(Verdict::Ok { records: count })
}

fn head(conn: &Connection) -> Result<Option<AuditHead>> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)")?
        .query_row([], |r| Ok(AuditHead { seq: r.get(0)?, hash: r.get(1)? }))
        .optional()?)
}

impl AuditTrail for SqliteStore {
    fn verify_audit_against(&self, anchor: Option<&AuditHead>) -> Result<Verdict> {
        verify(&self.conn, anchor)
    }

    fn audit_head(&self) -> Result<Option<AuditHead>> {
        head(&self.conn)
    }

    fn record_audit_head(&mut self) -> Result<Option<AuditHead>> {
        let Some(h) = head(&self.conn)? else { return Ok(None) };
        self.conn
            .prepare_cached("INSERT INTO meta (key, value) VALUES ('audit_head', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
            .execute([h.to_line()])?;
        Ok(Some(h))
    }

    /// The newest `limit` audit records, newest first, as (seq, at, record).
    fn audit_tail(&self, limit: u32) -> Result<Vec<(i64, Timestamp, serde_json::Value)>> {
        let mut stmt = self.conn.prepare("SELECT seq, at, record FROM audit ORDER BY seq DESC LIMIT ?1")?;
        let rows = stmt
            .query_map([limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
        rows.map(|r| {
            let (seq, at, text) = r?;
            let value = serde_json::from_str(&text).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
            Ok((seq, from_micros(at)?, value))
        })
        .collect()
    }
}
