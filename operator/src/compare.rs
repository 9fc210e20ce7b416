//! Desired against observed: whether a child must be applied, decided from the cache alone.
//!
//! A child is up to date when it carries the digest of the desired object (so the Bookstore asks
//! for nothing new, removals included) and still holds every field the operator sets with the
//! same value (so nobody changed them: drift). Fields the API server or others add are not the
//! operator's business. Values compare as the API server stores them: a zero value may be
//! omitted, and resource quantities compare by amount (`0.5` is `500m`).

use kube::Resource;
use serde::Serialize;
use serde_json::Value;

use crate::children::desired_hash;

/// Whether `observed` is what applying `desired` would leave, so that no request is needed.
pub fn up_to_date<K: Resource + Serialize>(desired: &K, observed: &K) -> bool {
    if desired_hash(desired) != desired_hash(observed) {
        return false;
    }
    match (
        serde_json::to_value(desired),
        serde_json::to_value(observed),
    ) {
        (Ok(desired), Ok(observed)) => contains(&observed, &desired, Kind::Plain),
        _ => false,
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Plain,
    /// `requests` or `limits`: a map of quantities.
    Quantities,
    Quantity,
}

fn contains(observed: &Value, desired: &Value, kind: Kind) -> bool {
    match (desired, observed) {
        (Value::Object(wanted), Value::Object(held)) => wanted.iter().all(|(key, value)| {
            let inner = match kind {
                Kind::Quantities => Kind::Quantity,
                _ if key == "requests" || key == "limits" => Kind::Quantities,
                _ => Kind::Plain,
            };
            held.get(key)
                .map_or_else(|| is_zero(value), |held| contains(held, value, inner))
        }),
        // In order; others may have added elements (a webhook's sidecar, say).
        (Value::Array(wanted), Value::Array(held)) => {
            let mut held = held.iter();
            wanted
                .iter()
                .all(|value| held.any(|candidate| contains(candidate, value, kind)))
        }
        (Value::String(wanted), Value::String(held)) => {
            wanted == held
                || matches!(kind, Kind::Quantity)
                    && nano_units(wanted).is_some_and(|n| nano_units(held) == Some(n))
        }
        (Value::Number(wanted), Value::Number(held)) => wanted.as_f64() == held.as_f64(),
        _ => desired == observed || (observed.is_null() && is_zero(desired)),
    }
}

/// What Go's `omitempty` leaves out. Not `false`: every boolean the operator sets is a pointer in
/// the Kubernetes API (`allowPrivilegeEscalation`, `automountServiceAccountToken`, `optional`...),
/// which the API server stores when false; a missing one was removed by someone, and is drift.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(_) => false,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// A Kubernetes quantity in billionths (`100m` is 100,000,000), when it is exact at that scale.
fn nano_units(text: &str) -> Option<i128> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let split = unsigned
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
    let (decimal_exponent, binary_exponent): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exponent => (exponent.strip_prefix(['e', 'E'])?.parse().ok()?, 0),
    };
    let exponent = 9 + decimal_exponent - i32::try_from(fraction.len()).ok()?;
    let scaled = if exponent >= 0 {
        digits.checked_mul(10_i128.checked_pow(exponent.unsigned_abs())?)?
    } else {
        let divisor = 10_i128.checked_pow(exponent.unsigned_abs())?;
        (digits % divisor == 0).then_some(digits / divisor)?
    };
    scaled
        .checked_mul(1_i128.checked_shl(binary_exponent)?)?
        .checked_mul(sign)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Service;
    use serde_json::json;

    use super::*;
    use crate::children::desired;
    use crate::children::fixtures::with_password;
    use crate::children::fixtures::{bookstore, with_database};

    fn holds(observed: Value, desired: Value) -> bool {
        contains(&observed, &desired, Kind::Plain)
    }

    #[test]
    fn fields_added_by_others_do_not_matter_changed_ones_do() {
        let desired = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
        assert!(holds(
            json!({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.7", "ports": [{"port": 80, "protocol": "TCP"}]}}),
            desired.clone()
        ));
        assert!(!holds(
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
            desired.clone()
        ));
        assert!(!holds(json!({"spec": {"type": "ClusterIP"}}), desired));
    }

    #[test]
    fn list_elements_must_all_be_there_in_order() {
        let desired = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        assert!(holds(
            json!({"env": [{"name": "A", "value": "1"}, {"name": "X"}, {"name": "B", "value": "2"}]}),
            desired.clone()
        ));
        assert!(!holds(
            json!({"env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}),
            desired.clone()
        ));
        assert!(!holds(
            json!({"env": [{"name": "A", "value": "1"}]}),
            desired
        ));
    }

    #[test]
    fn zero_values_may_be_omitted_by_the_api_server() {
        assert!(holds(
            json!({"name": "A"}),
            json!({"name": "A", "value": "", "items": []})
        ));
        assert!(!holds(
            json!({"name": "A"}),
            json!({"name": "A", "value": "x"})
        ));
    }

    #[test]
    fn a_removed_false_is_drift() {
        let desired =
            json!({"securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true}});
        assert!(holds(
            json!({"securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true}}),
            desired.clone()
        ));
        assert!(
            !holds(json!({"securityContext": {"runAsNonRoot": true}}), desired),
            "someone deleted allowPrivilegeEscalation: false"
        );
        assert!(!holds(
            json!({"spec": {}}),
            json!({"spec": {"automountServiceAccountToken": false}})
        ));
    }

    #[test]
    fn quantities_compare_by_amount_only_in_resources() {
        let desired = json!({"resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}});
        assert!(holds(
            json!({"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}),
            desired.clone()
        ));
        assert!(!holds(
            json!({"resources": {"requests": {"cpu": "600m", "memory": "1Gi"}}}),
            desired
        ));
        assert!(
            !holds(json!({"value": "500m"}), json!({"value": "0.5"})),
            "elsewhere strings are strings"
        );
    }

    #[test]
    fn quantities_parse_every_suffix() {
        assert_eq!(nano_units("100m"), Some(100_000_000));
        assert_eq!(nano_units("0.1"), nano_units("100m"));
        assert_eq!(nano_units("1k"), nano_units("1e3"));
        assert_eq!(nano_units("1Ki"), Some(1024 * 1_000_000_000));
        assert_eq!(nano_units("1.5Gi"), nano_units("1536Mi"));
        assert_eq!(nano_units("5n"), Some(5));
        assert_eq!(nano_units("-2"), Some(-2_000_000_000));
        assert_eq!(nano_units("0.5n"), None, "below a billionth");
        assert_eq!(nano_units("abc"), None);
        assert_eq!(nano_units("1Xi"), None);
    }

    #[test]
    fn a_child_is_up_to_date_until_its_digest_or_a_field_changes() {
        let shop = bookstore(with_database());
        let wanted = desired(&shop, &with_password(b"pw")).service;
        let mut observed: Service = wanted.clone();
        observed.spec.as_mut().expect("spec").cluster_ip = Some("10.96.0.9".into());
        assert!(up_to_date(&wanted, &observed));

        let mut drifted = observed.clone();
        drifted.spec.as_mut().expect("spec").type_ = Some("NodePort".into());
        assert!(!up_to_date(&wanted, &drifted), "drift");

        let mut spec = with_database();
        spec["service"] = json!({"annotations": {"a": "b"}});
        let asked = desired(&bookstore(spec), &with_password(b"pw")).service;
        assert!(
            !up_to_date(&asked, &observed),
            "the spec asks for something new"
        );
    }
}
