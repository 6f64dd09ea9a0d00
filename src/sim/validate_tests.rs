//! Tests of the stateless input checks.

use super::*;
use crate::cck::types::{CreateClusterNodesRequest, NodeIdsRequest};

fn code(r: Result<impl std::fmt::Debug, ApiError>) -> (String, String) {
    let e = r.unwrap_err();
    (e.code, e.msg)
}

#[test]
fn body_errors_name_the_field_and_map_to_the_right_code() {
    let p = |b: &str| parse_body::<NodeIdsRequest>("StopClusterNodes", b.as_bytes());
    assert!(p(r#"{"ClusterId":"c","NodeIds":["a"]}"#).is_ok());
    let (c, m) = code(p(r#"{"NodeIds":["a"]}"#));
    assert_eq!(c, "MissingParameter");
    assert!(m.contains("ClusterId"), "{m}");
    let (c, m) = code(p(r#"{"ClusterId":"c","NodeIds":["a"],"Force":true}"#));
    assert_eq!(c, "InvalidParameter");
    assert!(m.contains("unknown field `Force`"), "{m}");
    let (c, m) = code(p(r#"{"ClusterId":"c","NodeIds":"a"}"#));
    assert_eq!(c, "ParamParseError");
    assert!(m.contains("NodeIds"), "{m}");
    let (c, m) = code(p(r#"{"ClusterId":"c","NodeIds":["a", 3]}"#));
    assert_eq!(c, "ParamParseError");
    assert!(m.contains("NodeIds[1]"), "{m}");
    let (c, _) = code(p("{\"ClusterId\":"));
    assert_eq!(c, "ParamParseError");
    let (c, m) = code(p("  "));
    assert_eq!(c, "ParamParseError");
    assert!(m.contains("empty"), "{m}");
    let (c, _) = code(p(r#"{"ClusterId":"c","NodeIds":[]} x"#));
    assert_eq!(c, "ParamParseError");
}

#[test]
fn nested_missing_fields_are_named_with_their_path() {
    let body = r#"{"ClusterId":"c","Type":"Worker","InstanceType":"CCK.Memory","Cpu":8,"Memory":64,
        "AttachDisks":[{"DiskSize":100}],"Num":1,"Password":"x"}"#;
    let (c, m) = code(parse_body::<CreateClusterNodesRequest>(
        "CreateClusterNodes",
        body.as_bytes(),
    ));
    assert_eq!(c, "MissingParameter");
    assert!(m.contains("AttachDisks[0].DiskType"), "{m}");
}

#[test]
fn a_mistyped_password_is_not_echoed() {
    let body = r#"{"ClusterId":"c","Type":"Worker","InstanceType":"CCK.Memory","Cpu":8,"Memory":64,
        "AttachDisks":[],"Num":1,"Password":987654321}"#;
    let (c, m) = code(parse_body::<CreateClusterNodesRequest>(
        "CreateClusterNodes",
        body.as_bytes(),
    ));
    assert_eq!(c, "ParamParseError");
    assert!(m.contains("Password") && !m.contains("987654321"), "{m}");
}

#[test]
fn password_rules() {
    assert!(check_password("cck@passHonkong1").is_ok());
    assert!(check_password("Aa1!aaaa").is_ok());
    assert_eq!(code(check_password("")).0, "MissingParameter");
    for bad in [
        "Aa1!aaa",                         // 7 characters
        "Aa1!aaaaaaaaaaaaaaaaaaaaaaaaaaa", // 31 characters
        "aa1!aaaa",                        // no uppercase
        "AA1!AAAA",                        // no lowercase
        "Aaa!aaaa",                        // no digit
        "Aa1aaaaa",                        // no special character
        "Aa1! aaaa",                       // space
        "Aa1!aaaé",                        // not ASCII
    ] {
        let (c, m) = code(check_password(bad));
        assert_eq!(c, "InvalidParameter", "{bad}");
        assert!(m.contains("8 to 30") && !m.contains(bad), "{m}");
    }
}

fn disk(t: &str, size: Option<u32>, iops: Option<u32>) -> AttachDisk {
    AttachDisk {
        disk_type: t.into(),
        disk_size: size,
        iops,
    }
}

#[test]
fn disk_rules() {
    assert!(check_disks(&[disk("HighDisk", None, None)]).is_ok());
    assert!(check_disks(&[disk("HighDisk", Some(4000), Some(3000))]).is_ok());
    assert!(check_disks(&[]).unwrap_err().msg.contains("at least one"));
    assert!(
        check_disks(&[disk("SSD", None, None)])
            .unwrap_err()
            .msg
            .contains("HighDisk")
    );
    for size in [0, 50, 150, 4100] {
        let e = check_disks(&[disk("HighDisk", Some(size), None)]).unwrap_err();
        assert!(e.msg.contains("steps of 100"), "{}", e.msg);
    }
    let e = check_disks(&[
        disk("HighDisk", None, None),
        disk("HighDisk", None, Some(5000)),
    ])
    .unwrap_err();
    assert!(e.msg.contains("AttachDisks[1].Iops"), "{}", e.msg);
}

#[test]
fn command_rules() {
    assert!(check_command(None).is_ok());
    assert!(check_command(Some("")).is_ok());
    assert!(check_command(Some("ZWNobyAiMTIzIiA+IC9yb290LzEudHh0")).is_ok());
    let e = check_command(Some("echo secret-script")).unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    assert!(!e.msg.contains("secret-script"));
    let big = "A".repeat(MAX_COMMAND_LEN + 4);
    assert!(
        check_command(Some(&big))
            .unwrap_err()
            .msg
            .contains("at most")
    );
}

#[test]
fn node_id_list_rules() {
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(check_node_ids(&ids(&["a", "b"]), 2).is_ok());
    assert!(
        check_node_ids(&[], 2)
            .unwrap_err()
            .msg
            .contains("at least one")
    );
    assert!(
        check_node_ids(&ids(&["a", "b", "c"]), 2)
            .unwrap_err()
            .msg
            .contains("at most 2")
    );
    assert!(
        check_node_ids(&ids(&["a", "a"]), 5)
            .unwrap_err()
            .msg
            .contains("more than once")
    );
    assert!(
        check_node_ids(&ids(&["a", ""]), 5)
            .unwrap_err()
            .msg
            .contains("empty")
    );
}

#[test]
fn paging_parameters() {
    assert_eq!(page_param("PageSize", None, 20, Some(100)).unwrap(), 20);
    assert_eq!(page_param("PageSize", Some(""), 20, Some(100)).unwrap(), 20);
    assert_eq!(
        page_param("PageSize", Some("100"), 20, Some(100)).unwrap(),
        100
    );
    for bad in ["0", "-1", "abc", "1.5", "99999999999999999999999"] {
        let e = page_param("PageSize", Some(bad), 20, Some(100)).unwrap_err();
        assert!(e.msg.contains("positive integer"), "{bad}: {}", e.msg);
    }
    let e = page_param("PageSize", Some("101"), 20, Some(100)).unwrap_err();
    assert!(e.msg.contains("maximum is 100"), "{}", e.msg);
    assert_eq!(page_param("PageNumber", Some("7"), 1, None).unwrap(), 7);
}

#[test]
fn long_values_are_clipped_in_messages() {
    let long = "x".repeat(500);
    assert!(clip(&long).len() < 100);
    assert_eq!(clip("short"), "short");
}
