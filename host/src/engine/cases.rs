//! Starting cases.

use super::{Engine, EngineError, encode_json};
use crate::store::{
    CaseRecord, CaseStatus, Change, Event, EventRecord, Owner, StoredToken, TokenRecord,
    check_case_id,
};

impl Engine {
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
