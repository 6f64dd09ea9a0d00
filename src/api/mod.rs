//! The Kubernetes API of the operator: the `CckNodePool` custom resource
//! ([`v1alpha1`], with its [`status`]) and the run-time re-check of its validation
//! rules ([`validation`]).

pub mod status;
pub mod v1alpha1;
pub mod validation;

pub use v1alpha1::*;

/// The CustomResourceDefinition to install, as JSON.
///
/// Status fields carry no defaults (they are written by the controller only), and
/// Kubernetes 1.20 rejects the empty-string defaults the derive emits for them.
pub fn crd(with_cel: bool) -> serde_json::Value {
    use kube::CustomResourceExt;
    let mut crd = serde_json::to_value(CckNodePool::crd()).unwrap_or_default();
    if let Some(versions) = crd
        .pointer_mut("/spec/versions")
        .and_then(|v| v.as_array_mut())
    {
        for v in versions {
            if let Some(status) = v.pointer_mut("/schema/openAPIV3Schema/properties/status") {
                strip_key(status, "default");
            }
        }
    }
    if !with_cel {
        strip_key(&mut crd, "x-kubernetes-validations");
    }
    crd
}

fn strip_key(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|v| strip_key(v, key));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| strip_key(v, key)),
        _ => {}
    }
}
