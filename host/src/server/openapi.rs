//! The OpenAPI 3.1 document of the API, `openapi.json` beside this file,
//! served at `/openapi.json`. Its tests hold it to the route table: every
//! route documented, every documented operation routed, the error body and
//! its codes described.

/// The OpenAPI document of the API, as served at `/openapi.json`.
pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::server::error::ErrorCode;
    use crate::server::routes::table;

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    #[test]
    fn is_openapi_3_1_with_bearer_security() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["bearer"], Value::Array(vec![]));
    }

    #[test]
    fn documents_exactly_the_routes_the_router_serves() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| METHODS.contains(&k.as_str()))
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = table(None)
            .endpoints
            .iter()
            .map(|e| (e.method.to_string(), e.path.to_string()))
            .collect();
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed but not documented"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented but not routed"
        );
    }

    #[test]
    fn open_routes_are_exactly_those_without_security() {
        let doc = document();
        for endpoint in table(None).endpoints {
            let op = &doc["paths"][endpoint.path][endpoint.method.as_str().to_lowercase()];
            let open = op.get("security") == Some(&Value::Array(vec![]));
            assert_eq!(open, !endpoint.guarded, "{endpoint:?}");
        }
    }

    #[test]
    fn describes_the_error_body_and_every_code() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let error = &schemas["Error"];
        assert_eq!(error["required"][0], "error");
        assert_eq!(
            error["properties"]["error"]["required"],
            serde_json::json!(["code", "message"])
        );
        let documented: BTreeSet<&str> = schemas["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, codes);
    }

    #[test]
    fn every_operation_answers_errors_with_the_error_schema() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} has no success response"
                );
                let guarded = op.get("security") != Some(&Value::Array(vec![]));
                if guarded {
                    assert!(responses.contains_key("401"), "{method} {path} lacks 401");
                }
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        if path == "/readyz" {
                            continue;
                        }
                        let target = response["$ref"].as_str().unwrap_or_else(|| {
                            panic!("{method} {path} {status} is not a shared error response")
                        });
                        let name = target.trim_start_matches("#/components/responses/");
                        let schema = &doc["components"]["responses"][name]["content"]["application/json"]
                            ["schema"]["$ref"];
                        assert_eq!(
                            schema, "#/components/schemas/Error",
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn lists_every_event_type() {
        let kinds = &document()["components"]["schemas"]["Event"]["properties"]["type"]["enum"];
        let kinds: Vec<&str> = kinds
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(kinds, crate::store::Event::KINDS);
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
    }
}
