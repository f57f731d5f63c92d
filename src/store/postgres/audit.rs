//! The tamper-evident audit trail, hashed exactly as SQLite's (a chain copied between the
//! backends verifies on either). One chain for the whole store: appending takes a
//! transaction-level advisory lock, so two writers never link to the same predecessor; the
//! lock goes with the commit.

use jiff::Timestamp;

use super::db::Db;
use super::{PgStore, with};
use crate::store::{AuditHead, AuditTrail, Result, StoreError, Verdict, from_micros, micros, sha256_hex};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The advisory lock key of the chain's tail ("campaud").
const AUDIT_LOCK: i64 = 0x6361_6d70_6175_6401;

/// Rows read per round trip while walking the chain (keeps memory flat on a long chain).
const WALK_PAGE: i64 = 5_000;

pub(crate) fn chain_hash(seq: i64, at: i64, content_hash: &str, prev_hash: &str) -> String {
    sha256_hex(format!("{seq}\n{at}\n{content_hash}\n{prev_hash}").as_bytes())
}

/// Takes the chain's lock for the rest of the transaction (see `in_tx`).
pub(crate) fn lock_chain(db: &mut Db) -> Result<()> {
    db.exec("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
    Ok(())
}

/// Appends one record; call it inside the transaction that makes the change.
pub(crate) fn append(db: &mut Db, now: Timestamp, record: &serde_json::Value) -> Result<()> {
    let (seq, prev_hash) = match db.tx.audit_head.take() {
        // This transaction holds the chain and appended last.
        Some((seq, hash)) => (seq + 1, hash),
        None => {
            db.exec("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
            match head(db)? {
                Some(h) => (h.seq + 1, h.hash),
                None => (1, GENESIS.to_string()),
            }
        }
    };
    let text = record.to_string();
    let content_hash = sha256_hex(text.as_bytes());
    let at = micros(now);
    let hash = chain_hash(seq, at, &content_hash, &prev_hash);
    db.exec(
        "INSERT INTO audit (seq, at, record, content_hash, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&seq, &at, &text, &content_hash, &prev_hash, &hash],
    )?;
    db.tx.audit_head = Some((seq, hash));
    Ok(())
}

fn head(db: &mut Db) -> Result<Option<AuditHead>> {
    match db.opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])? {
        Some(r) => Ok(Some(AuditHead { seq: r.try_get(0)?, hash: r.try_get(1)? })),
        None => Ok(None),
    }
}

/// Walks the whole chain from the first record and reports the first break.
fn verify(db: &mut Db, anchor: Option<&AuditHead>) -> Result<Verdict> {
    let recorded: Option<String> = match db.opt("SELECT value FROM meta WHERE key = 'audit_head'", &[])? {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    };
    let recorded = recorded.as_deref().and_then(AuditHead::parse);
    let heads: Vec<(&AuditHead, &str)> =
        [(recorded.as_ref(), "the head the store recorded"), (anchor, "the anchor")]
            .into_iter()
            .filter_map(|(h, what)| h.map(|h| (h, what)))
            .collect();
    let walked = walk(db, &heads)?;
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

/// Walks the chain a page at a time; a record that one of `heads` names must have the hash
/// it names.
fn walk(db: &mut Db, heads: &[(&AuditHead, &str)]) -> Result<Verdict> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    let mut after = 0_i64;
    loop {
        let rows = db.query(
            "SELECT seq, at, record, content_hash, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &WALK_PAGE],
        )?;
        if rows.is_empty() {
            return Ok(Verdict::Ok { records: count });
        }
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            let at: i64 = row.try_get(1)?;
            let record: String = row.try_get(2)?;
            let content_hash: String = row.try_get(3)?;
            let prev_hash: String = row.try_get(4)?;
            let hash: String = row.try_get(5)?;
            let problem = if seq != expected_seq {
                Some(format!("expected record {expected_seq} here: records are missing"))
            } else if sha256_hex(record.as_bytes()) != content_hash {
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
            after = seq;
        }
    }
}

impl AuditTrail for PgStore {
    fn verify_audit_against(&self, anchor: Option<&AuditHead>) -> Result<Verdict> {
        // One snapshot for the whole walk: records appended meanwhile are not half-seen.
        let mut db = self.db()?;
        db.snapshot(|db| verify(db, anchor))
    }

    fn audit_head(&self) -> Result<Option<AuditHead>> {
        with(self, head)
    }

    fn record_audit_head(&mut self) -> Result<Option<AuditHead>> {
        with(self, |db| {
            let Some(h) = head(db)? else { return Ok(None) };
            db.exec(
                "INSERT INTO meta (key, value) VALUES ('audit_head', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&h.to_line()],
            )?;
            Ok(Some(h))
        })
    }

    /// The newest `limit` audit records, newest first, as (seq, at, record).
    fn audit_tail(&self, limit: u32) -> Result<Vec<(i64, Timestamp, serde_json::Value)>> {
        with(self, |db| {
            let rows = db.query(
                "SELECT seq, at, record FROM audit ORDER BY seq DESC LIMIT $1",
                &[&i64::from(limit)],
            )?;
            rows.iter()
                .map(|r| {
                    let text: String = r.try_get(2)?;
                    let value =
                        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok((r.try_get(0)?, from_micros(r.try_get(1)?)?, value))
                })
                .collect()
        })
    }
}
