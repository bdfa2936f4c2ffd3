//! Starting cases, and cancelling one without a driver.

use super::{Engine, EngineError, encode_json};
use crate::store::{
    CaseRecord, CaseStatus, Change, Event, EventRecord, Owner, StoredToken, TokenRecord,
    check_case_id,
};

impl Engine {
    /// Cancels case `id` for `by` (an operator), as [`crate::Host::cancel_case`]
    /// does, on an engine no host drives (`petrel cancel --data`): the case
    /// aborts, its offers and waiting retries are withdrawn, and its
    /// compensations are queued for the next run. Nothing else fires.
    /// Durable when it returns.
    pub async fn cancel_case(
        &self,
        id: &str,
        by: &str,
        reason: &str,
    ) -> Result<CaseRecord, EngineError> {
        if self.driven.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::Conflict(
                "a host drives this engine: cancel through it (`Host::cancel_case`)".into(),
            ));
        }
        let mut core = self.core(None, false);
        if self.cluster().is_some() {
            // Sharing the store: only a case no live host runs.
            self.claim(&mut core, id).await?;
        } else {
            self.load_case(&mut core, id)?;
            for (firing, r) in self.store().reservations()? {
                if r.case == id {
                    core.adopt(firing, r)?;
                }
            }
        }
        let now = self.clock().now_ms();
        let Some(record) = core.cancel(id, by, reason.to_string(), now)? else {
            let status = self.store().case(id)?.map(|r| r.status);
            return Err(EngineError::Conflict(format!(
                "case `{id}` is {} already",
                status.map_or("gone", CaseStatus::as_str)
            )));
        };
        self.committer.commit(core.take_changes()).await?;
        Ok(record)
    }

    /// Starts case `case` on net version `version` with tokens given as
    /// (place, JSON payload); with none, one `null` token in each `start`
    /// place. Durable when it returns.
    pub async fn start_case(
        &self,
        version: &str,
        case: &str,
        tokens: Vec<(String, serde_json::Value)>,
    ) -> Result<CaseRecord, EngineError> {
        Ok(self.start(version, case, tokens).await?.0)
    }

    /// [`Engine::start_case`], also returning the tokens it stored (so a
    /// driver can take the case on without reading it back).
    pub(crate) async fn start(
        &self,
        version: &str,
        case: &str,
        tokens: Vec<(String, serde_json::Value)>,
    ) -> Result<(CaseRecord, Vec<StoredToken>), EngineError> {
        check_case_id(case).map_err(EngineError::Invalid)?;
        let dep = self.deployment(version)?;
        let net = &dep.net;
        let tokens = if tokens.is_empty() {
            let starts: Vec<_> = net
                .places()
                .iter()
                .filter(|p| p.start)
                .map(|p| (p.name.clone(), serde_json::Value::Null))
                .collect();
            if starts.is_empty() {
                return Err(EngineError::Invalid(format!(
                    "net `{}` declares no `start = true` place, so a case needs explicit tokens (e.g. --token PLACE=JSON)",
                    net.name()
                )));
            }
            starts
        } else {
            tokens
        };
        let mut records = Vec::with_capacity(tokens.len());
        let mut produce = Vec::with_capacity(tokens.len());
        for (place, value) in tokens {
            let Some(p) = net.place_index(&place) else {
                let known: Vec<_> = net
                    .places()
                    .iter()
                    .filter(|p| !p.shared)
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(EngineError::Invalid(format!(
                    "token for unknown place `{place}` (places of net `{}`: {})",
                    net.name(),
                    known.join(", ")
                )));
            };
            if net.places()[p].shared {
                return Err(EngineError::Invalid(format!(
                    "place `{place}` is shared; a case cannot bring tokens into it"
                )));
            }
            let payload = encode_json(&value)?;
            let seq = self.store.next_id()?;
            records.push(TokenRecord {
                place: place.clone(),
                seq,
                shared: false,
                payload: payload.clone(),
            });
            produce.push(StoredToken {
                owner: Owner::Case(case.to_string()),
                place,
                seq,
                payload,
            });
        }
        let now = self.clock().now_ms();
        let record = CaseRecord {
            id: case.to_string(),
            net: net.name().to_string(),
            version: version.to_string(),
            status: CaseStatus::Running,
            started_at_ms: now,
            updated_at_ms: now,
            archived: None,
            compensable: Vec::new(),
            saga: None,
            attempt: 1,
            // Kept only when a new attempt may need them.
            start: if net.workflow_retry().is_some() {
                records.clone()
            } else {
                Vec::new()
            },
            restart_at_ms: 0,
            region_aborts: Default::default(),
        };
        let event = EventRecord {
            seq: 0,
            at_ms: now,
            case: Some(case.to_string()),
            event: Event::CaseStarted {
                net: net.name().to_string(),
                version: version.to_string(),
                tokens: records,
            },
        };
        let change = Change {
            produce,
            case: Some(record.clone()),
            events: vec![event],
            starts_case: true,
            ..Change::default()
        };
        // Through the commit path: concurrent starts share a transaction
        // and a flush.
        let committed = self.committer.commit(vec![change]).await?;
        let tokens = committed.into_iter().flat_map(|c| c.produce).collect();
        Ok((record, tokens))
    }
}
