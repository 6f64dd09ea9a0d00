//! `cck-operator api ACTION`: one signed call to the CCK OpenAPI, for people debugging
//! credentials, endpoints and the API itself.
//!
//! GET actions send `--query NAME=VALUE` pairs in the signed query; POST actions send
//! `--body` as JSON. The response JSON goes to stdout; the exit status is 0 only for
//! `Code == "Success"`, otherwise stderr gets one line with the Code, Msg and RequestId.
//! Exactly one attempt is made (no retries), so what you see is what the API said.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::cck::envelope;
use crate::cck::{
    Action, CckClient, CckError, ClientConfig, Credentials, DEFAULT_ENDPOINT, Method,
};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Credentials come from CCK_ACCESS_KEY_ID and CCK_ACCESS_KEY_SECRET.\n\
Exit status: 0 success; 1 the API returned an error; 2 bad usage; \
3 transport failure (not sent, or outcome unknown); 4 undecodable response.\n\
Examples:\n  cck-operator api DescribeClusters\n  \
cck-operator api DescribeClusterNodes --query ClusterId=96fd21ae-fb8d-11ed-b833-060b6f41d883 --query PageSize=100\n  \
cck-operator api StopClusterNodes --body '{\"ClusterId\":\"...\",\"NodeIds\":[\"...\"]}'\n  \
cck-operator api CreateClusterNodes --body @create.json"
)]
pub struct ApiArgs {
    /// The action, e.g. DescribeClusters, CreateClusterNodes.
    pub action: String,
    /// A parameter of a GET action, sent in the signed query (repeatable).
    #[arg(long = "query", short = 'q', value_name = "NAME=VALUE")]
    pub query: Vec<String>,
    /// The JSON body of a POST action: inline JSON, @FILE, or @- for stdin.
    #[arg(long, value_name = "JSON|@FILE")]
    pub body: Option<String>,
    /// Base URL of the API (or a simulator's, as `cck-operator sim` prints it).
    #[arg(long, env = "CCK_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// HTTP method, only needed for an action this tool does not know.
    #[arg(long, value_parser = ["GET", "POST"])]
    pub method: Option<String>,
    /// Timeout of the call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Exit statuses of `cck-operator api`.
mod exit {
    pub const API_ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const TRANSPORT: u8 = 3;
    pub const DECODE: u8 = 4;
}

pub async fn run(args: ApiArgs) -> ExitCode {
    match call(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

type Failure = (u8, String);

fn usage(message: impl Into<String>) -> Failure {
    (exit::USAGE, message.into())
}

async fn call(args: ApiArgs) -> Result<(), Failure> {
    let method = resolve_method(&args.action, args.method.as_deref())?;
    let query = parse_query(&args.query)?;
    let body = match &args.body {
        Some(spec) => Some(read_body(spec)?),
        None => None,
    };
    match (method, &body, query.is_empty()) {
        (Method::Get, Some(_), _) => {
            return Err(usage(format!(
                "{} is a GET action: pass its parameters with --query NAME=VALUE, not --body",
                args.action
            )));
        }
        (Method::Post, _, false) => {
            return Err(usage(format!(
                "{} is a POST action: pass its parameters as a JSON body (--body), not --query",
                args.action
            )));
        }
        (Method::Post, None, _) => {
            return Err(usage(format!(
                "{} is a POST action and needs a JSON body: --body '{{...}}' or --body @file.json",
                args.action
            )));
        }
        _ => {}
    }
    let credentials = credentials_from_env()?;
    let config = ClientConfig {
        endpoint: args.endpoint.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..ClientConfig::default()
    };
    let client = CckClient::new(credentials, config).map_err(|e| usage(e.to_string()))?;
    let raw = client
        .send_raw(&args.action, method, &query, body.as_ref())
        .await
        .map_err(classify)?;
    // Print whatever JSON came back, success or not: it is what a person debugs from.
    if let Ok(v) = serde_json::from_slice::<Value>(&raw.body) {
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
        );
    }
    envelope::decode::<Value>(&args.action, &args.endpoint, raw.status, &raw.body)
        .map(|_| ())
        .map_err(classify)
}

fn classify(e: CckError) -> Failure {
    let code = match e {
        CckError::Api { .. } | CckError::Throttled { .. } => exit::API_ERROR,
        CckError::NotSent { .. } | CckError::UnknownOutcome { .. } => exit::TRANSPORT,
        CckError::Decode { .. } => exit::DECODE,
        CckError::InvalidRequest { .. } => exit::USAGE,
    };
    (code, e.to_string())
}

fn resolve_method(action: &str, method: Option<&str>) -> Result<Method, Failure> {
    let explicit = method.map(|m| {
        if m == "POST" {
            Method::Post
        } else {
            Method::Get
        }
    });
    match (Action::from_name(action), explicit) {
        (Some(a), Some(m)) if a.method() != m => Err(usage(format!(
            "{action} is a {} action; drop --method or use --method {}",
            a.method().as_str(),
            a.method().as_str()
        ))),
        (Some(a), _) => Ok(a.method()),
        (None, Some(m)) => Ok(m),
        (None, None) => {
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            Err(usage(format!(
                "unknown action {action:?}; known actions: {} (for another action, pass --method GET or --method POST)",
                known.join(", ")
            )))
        }
    }
}

fn parse_query(pairs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(usage(format!(
                "--query {p:?} is not NAME=VALUE (e.g. --query ClusterId=96fd21ae-fb8d-11ed-b833-060b6f41d883)"
            ))),
        })
        .collect()
}

fn read_body(spec: &str) -> Result<Value, Failure> {
    let (text, origin) = match spec.strip_prefix('@') {
        Some("-") => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| usage(format!("cannot read the body from stdin: {e}")))?;
            (s, "stdin".to_owned())
        }
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| usage(format!("cannot read the body file {path}: {e}")))?,
            path.to_owned(),
        ),
        None => (spec.to_owned(), "--body".to_owned()),
    };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("the body from {origin} is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(usage(format!(
            "the body from {origin} must be a JSON object"
        )));
    }
    Ok(v)
}

fn credentials_from_env() -> Result<Credentials, Failure> {
    let id = std::env::var("CCK_ACCESS_KEY_ID").unwrap_or_default();
    let secret = std::env::var("CCK_ACCESS_KEY_SECRET").unwrap_or_default();
    match (id.is_empty(), secret.is_empty()) {
        (false, false) => Ok(Credentials::new(id, secret)),
        (true, true) => Err(usage(
            "no credentials: set CCK_ACCESS_KEY_ID and CCK_ACCESS_KEY_SECRET (for the simulator, paste the export lines `cck-operator sim` prints)",
        )),
        (true, false) => Err(usage("CCK_ACCESS_KEY_ID is not set")),
        (false, true) => Err(usage("CCK_ACCESS_KEY_SECRET is not set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_action_table() {
        assert_eq!(resolve_method("DescribeTask", None).unwrap(), Method::Get);
        assert_eq!(
            resolve_method("DeleteClusterNodes", None).unwrap(),
            Method::Post
        );
        assert_eq!(
            resolve_method("Whatever", Some("POST")).unwrap(),
            Method::Post
        );
        let (code, msg) = resolve_method("Whatever", None).unwrap_err();
        assert_eq!(code, exit::USAGE);
        assert!(msg.contains("DescribeClusters"));
        assert!(resolve_method("DescribeTask", Some("POST")).is_err());
    }

    #[test]
    fn query_pairs_split_at_the_first_equals_sign() {
        let q = parse_query(&["A=b=c".into(), "Empty=".into()]).unwrap();
        assert_eq!(
            q,
            vec![("A".into(), "b=c".into()), ("Empty".into(), String::new())]
        );
        assert!(parse_query(&["novalue".into()]).is_err());
        assert!(parse_query(&["=x".into()]).is_err());
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(read_body(r#"{"ClusterId":"x"}"#).is_ok());
        assert!(read_body("[1]").is_err());
        assert!(read_body("{nope").unwrap_err().1.contains("not valid JSON"));
        assert!(
            read_body("@/nonexistent/file.json")
                .unwrap_err()
                .1
                .contains("/nonexistent/file.json")
        );
    }
}
