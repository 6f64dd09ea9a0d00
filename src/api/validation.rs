//! Run-time validation of a `CckNodePool` spec: the same rules as the CRD's schema and CEL
//! rules, re-checked by the controller before any cloud call, because API servers older
//! than 1.25 ignore CEL and objects may predate a schema change. Pure.

use std::fmt;

use crate::cck::check_instance_shape;

use super::v1alpha1::{CckNodePoolSpec, SnatType};

/// One violated rule: the field path and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The most bytes an inline boot script may have.
pub const MAX_BOOT_SCRIPT_BYTES: usize = 16384;

/// Every rule the spec breaks (empty when valid).
pub fn validate_spec(spec: &CckNodePoolSpec) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: String| {
        errors.push(SpecError {
            field: field.into(),
            message,
        })
    };
    if spec.cluster_id.trim().is_empty() {
        err(
            "spec.clusterId",
            "must name a CCK cluster (its ClusterId)".into(),
        );
    }
    if !(0..=1000).contains(&spec.replicas) {
        err(
            "spec.replicas",
            format!("must be between 0 and 1000, got {}", spec.replicas),
        );
    }
    let t = &spec.template;
    if let Err(m) = check_instance_shape(t.instance_type.as_str(), t.cpu, t.memory) {
        err("spec.template", m);
    }
    if t.data_disks.is_empty() || t.data_disks.len() > 16 {
        err(
            "spec.template.dataDisks",
            format!("needs 1 to 16 disks, got {}", t.data_disks.len()),
        );
    }
    for (i, d) in t.data_disks.iter().enumerate() {
        if !(100..=4000).contains(&d.size_gb) || d.size_gb % 100 != 0 {
            err(
                &format!("spec.template.dataDisks[{i}].sizeGb"),
                format!("must be 100 to 4000 in steps of 100, got {}", d.size_gb),
            );
        }
        if d.iops != 3000 {
            err(
                &format!("spec.template.dataDisks[{i}].iops"),
                format!("3000 is the only value offered, got {}", d.iops),
            );
        }
    }
    if t.password_secret_ref.name.is_empty() || t.password_secret_ref.key.is_empty() {
        err(
            "spec.template.passwordSecretRef",
            "needs the name of a Secret in the pool's namespace and a key in it".into(),
        );
    }
    let public_id = t.public_id.as_deref().unwrap_or("");
    if !public_id.is_empty() && !t.snat_ids.is_empty() {
        err(
            "spec.template",
            "publicId and snatIds are alternatives: set one of them".into(),
        );
    }
    match t.snat_type {
        Some(SnatType::Specified) if t.snat_ids.is_empty() => err(
            "spec.template.snatIds",
            "snatType Specified needs at least one entry in snatIds".into(),
        ),
        Some(SnatType::Auto) if !t.snat_ids.is_empty() => err(
            "spec.template.snatIds",
            "snatType Auto lets the cloud pick a gateway: leave snatIds empty".into(),
        ),
        _ => {}
    }
    if let Some(b) = &t.boot_script {
        let set = [
            b.inline.is_some(),
            b.config_map_key_ref.is_some(),
            b.secret_key_ref.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if set != 1 {
            err(
                "spec.template.bootScript",
                "needs exactly one of inline, configMapKeyRef or secretKeyRef".into(),
            );
        }
        if b.inline
            .as_ref()
            .is_some_and(|s| s.len() > MAX_BOOT_SCRIPT_BYTES)
        {
            err(
                "spec.template.bootScript.inline",
                format!("is longer than {MAX_BOOT_SCRIPT_BYTES} bytes; move it to a ConfigMap"),
            );
        }
    }
    for (i, id) in spec.adopt_node_ids.iter().enumerate() {
        if id.trim().is_empty() {
            err(
                &format!("spec.adoptNodeIds[{i}]"),
                "must not be empty".into(),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v1alpha1::*;
    use crate::cck::INSTANCE_TYPES;
    use serde_json::json;

    pub(crate) fn spec() -> CckNodePoolSpec {
        serde_json::from_value(json!({
            "clusterId": "c1",
            "replicas": 2,
            "template": {
                "instanceType": "CCK.Standard", "cpu": 8, "memory": 32,
                "dataDisks": [{"sizeGb": 200}],
                "passwordSecretRef": {"name": "node-password"},
            }
        }))
        .unwrap()
    }

    fn pool(spec: CckNodePoolSpec) -> CckNodePool {
        CckNodePool::new("p", spec)
    }

    /// Both checks must agree: the CEL rules the API server enforces (1.25+) and the Rust
    /// re-check the controller runs.
    fn agree(spec: CckNodePoolSpec) -> bool {
        let rust_ok = validate_spec(&spec).is_empty();
        let cel = CckNodePool::validate_cel(&pool(spec.clone()));
        assert_eq!(
            rust_ok,
            cel.is_ok(),
            "Rust says {:?}, CEL says {:?} for {spec:?}",
            validate_spec(&spec),
            cel
        );
        rust_ok
    }

    #[test]
    fn defaults_fill_in_and_a_minimal_spec_is_valid() {
        let s = spec();
        assert_eq!(s.template.data_disks[0].iops, 3000);
        assert_eq!(s.template.password_secret_ref.key, "password");
        assert_eq!(s.deletion_policy, DeletionPolicy::Delete);
        assert_eq!(s.scale_down.order, ScaleDownOrder::Newest);
        assert!(agree(s));
    }

    #[test]
    fn the_cel_instance_table_matches_the_catalog_for_every_pair() {
        let types = [
            InstanceType::CpuHigh,
            InstanceType::Cpu,
            InstanceType::Standard,
            InstanceType::Memory,
        ];
        let mut valid = 0;
        for t in types {
            for cpu in [4, 8, 16, 32, 64] {
                for memory in [8, 16, 32, 64, 128, 256] {
                    let mut s = spec();
                    s.template.instance_type = t;
                    s.template.cpu = cpu;
                    s.template.memory = memory;
                    if agree(s) {
                        valid += 1;
                    }
                }
            }
        }
        let catalog: usize = INSTANCE_TYPES.iter().map(|(_, pairs)| pairs.len()).sum();
        assert_eq!(valid, catalog);
    }

    #[test]
    fn network_rules_agree() {
        let mut s = spec();
        s.template.snat_ids = vec!["g1".into()];
        assert!(agree(s.clone()));
        s.template.public_id = Some("p1".into());
        assert!(!agree(s.clone()));
        s.template.snat_ids.clear();
        assert!(agree(s.clone()));
        s.template.public_id = None;
        s.template.snat_type = Some(SnatType::Specified);
        assert!(!agree(s.clone()));
        s.template.snat_type = Some(SnatType::Auto);
        assert!(agree(s.clone()));
        s.template.snat_ids = vec!["g1".into()];
        assert!(!agree(s));
    }

    #[test]
    fn boot_script_needs_exactly_one_source() {
        let key = ObjectKeyRef {
            name: "boot".into(),
            key: "script.sh".into(),
        };
        let mut s = spec();
        s.template.boot_script = Some(BootScript {
            inline: Some("echo hi".into()),
            config_map_key_ref: None,
            secret_key_ref: None,
        });
        assert!(agree(s.clone()));
        s.template.boot_script = Some(BootScript {
            inline: Some("echo hi".into()),
            config_map_key_ref: Some(key.clone()),
            secret_key_ref: None,
        });
        assert!(!agree(s.clone()));
        s.template.boot_script = Some(BootScript {
            inline: None,
            config_map_key_ref: None,
            secret_key_ref: None,
        });
        assert!(!agree(s.clone()));
        s.template.boot_script = Some(BootScript {
            inline: None,
            config_map_key_ref: None,
            secret_key_ref: Some(key),
        });
        assert!(agree(s));
    }

    #[test]
    fn cluster_id_is_immutable_under_cel() {
        let old = pool(spec());
        let mut new_spec = spec();
        new_spec.cluster_id = "c2".into();
        let err = CckNodePool::validate_cel_update(&pool(new_spec), &old).unwrap_err();
        assert!(err.to_string().contains("immutable"), "{err}");
        let mut scaled = spec();
        scaled.replicas = 7;
        assert!(CckNodePool::validate_cel_update(&pool(scaled), &old).is_ok());
    }

    #[test]
    fn schema_only_rules_are_rechecked_with_field_paths() {
        let mut s = spec();
        s.replicas = -1;
        s.template.data_disks[0].size_gb = 150;
        s.template.data_disks.push(DataDisk {
            disk_type: DiskType::HighDisk,
            size_gb: 4100,
            iops: 5000,
        });
        s.cluster_id = " ".into();
        let fields: Vec<String> = validate_spec(&s).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "spec.clusterId",
                "spec.replicas",
                "spec.template.dataDisks[0].sizeGb",
                "spec.template.dataDisks[1].sizeGb",
                "spec.template.dataDisks[1].iops"
            ]
        );
        let mut s = spec();
        s.template.data_disks.clear();
        assert_eq!(validate_spec(&s)[0].field, "spec.template.dataDisks");
    }

    #[test]
    fn the_generated_crd_carries_the_rules_and_subresources() {
        use kube::CustomResourceExt;
        let crd = serde_json::to_string(&CckNodePool::crd()).unwrap();
        for needle in [
            "x-kubernetes-validations",
            "\"multipleOf\":100",
            "specReplicasPath",
            "\"shortNames\":[\"cnp\"]",
            "clusterId is immutable",
        ] {
            assert!(crd.contains(needle), "CRD lacks {needle}");
        }
    }
}
