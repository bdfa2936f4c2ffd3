//! Checking what a person filled in against a human task's form (the JSON
//! Schema of an outcome, see [`crate::net::Outcome::form`]).

/// Why `payload` does not meet `form`, naming the field (a JSON pointer
/// into the payload) and what was expected; `Ok` when it does.
pub(crate) fn check(form: &serde_json::Value, payload: &serde_json::Value) -> Result<(), String> {
    // The net was checked when it loaded, so the schema compiles.
    let validator = jsonschema::validator_for(form).map_err(|e| format!("the form: {e}"))?;
    match validator.iter_errors(payload).next() {
        None => Ok(()),
        Some(e) => {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            Err(format!("`{at}`: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_payload_is_checked_against_its_form_naming_the_field() {
        let form = json!({
            "type": "object",
            "required": ["amount"],
            "properties": {
                "amount": { "type": "number", "minimum": 0 },
                "note": { "type": "string" }
            }
        });
        assert_eq!(super::check(&form, &json!({ "amount": 12.5 })), Ok(()));
        let missing = super::check(&form, &json!({ "note": "x" })).unwrap_err();
        assert!(missing.contains("amount"), "{missing}");
        let wrong = super::check(&form, &json!({ "amount": "ten" })).unwrap_err();
        assert!(wrong.starts_with("`/amount`"), "{wrong}");
        assert!(super::check(&form, &json!({ "amount": -1 })).is_err());
    }
}
